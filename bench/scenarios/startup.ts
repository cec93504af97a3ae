import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { entries, startKubevend, writePolicy } from '../lib/kubevend.ts';
import { summarise } from '../lib/stats.ts';

// 6. From spawning the process to the first 200 from /readyz, for the compiled server (what `npm
// start` runs, compiled by the run) and for src/server.ts run from source; each start on a new
// SQLite file, so it includes creating the schema.
// Then the built server again with Node's compile cache (NODE_COMPILE_CACHE, an operator's setting),
// warmed by one start first: most of a start is loading and compiling modules.

export async function startup(ctx: BenchContext) {
  const times = scale(ctx, 7, 3);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-startup');
  const variants = {
    built: { entry: ctx.built.server, env: {} },
    server: { entry: entries.server, env: {} },
    compileCache: { entry: ctx.built.server, env: { NODE_COMPILE_CACHE: scratch(ctx, 'compile-cache') } },
  };
  const start = async (variant: keyof typeof variants, name: string) => {
    const { entry, env } = variants[variant];
    const kubevend = await startKubevend(entry, {
      KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `startup-${name}.db`)}`, ...env,
    }, scratch(ctx, 'startup.log'));
    await kubevend.child.stop();
    return kubevend.readyMs;
  };
  await start('compileCache', 'warm-cache');
  const measured: Record<keyof typeof variants, number[]> = { built: [], server: [], compileCache: [] };
  for (let i = 0; i < times; i++) {
    for (const variant of Object.keys(variants) as (keyof typeof variants)[]) measured[variant].push(await start(variant, `${variant}-${i}`));
  }
  log(`6. start-up: ${times} starts of each entry`);
  return { times, built: summarise(measured.built), server: summarise(measured.server), compileCache: summarise(measured.compileCache) };
}

export type StartupResult = Awaited<ReturnType<typeof startup>>;
