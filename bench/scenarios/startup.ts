import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { entries, startKubevend, writePolicy } from '../lib/kubevend.ts';
import { summarise } from '../lib/stats.ts';

// 6. From spawning the process to the first 200 from /readyz, for the built server (what `npm start`
// runs) and for src/server.ts; each start on a new SQLite file, so it includes creating the schema.

export async function startup(ctx: BenchContext) {
  const times = scale(ctx, 7, 3);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-startup');
  const measured: Record<'built' | 'server', number[]> = { built: [], server: [] };
  for (let i = 0; i < times; i++) {
    for (const entry of ['built', 'server'] as const) {
      const kubevend = await startKubevend(entries[entry], {
        KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `startup-${entry}-${i}.db`)}`,
      }, scratch(ctx, 'startup.log'));
      measured[entry].push(kubevend.readyMs);
      await kubevend.child.stop();
    }
  }
  log(`6. start-up: ${times} starts of each entry`);
  return { times, built: summarise(measured.built), server: summarise(measured.server) };
}

export type StartupResult = Awaited<ReturnType<typeof startup>>;
