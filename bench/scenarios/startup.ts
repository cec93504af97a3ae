import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { launchArgs, startKubevend, writePolicy } from '../lib/kubevend.ts';
import { rssOf } from '../lib/proc.ts';
import { runCommand } from '../lib/process.ts';
import { summarise } from '../lib/stats.ts';

// 6. From spawning the process to the first 200 from /readyz for the built server, as `npm start`
// runs it; each start on a new SQLite file, so it includes creating the schema. `built`: with
// Node's compile cache in a directory filled beforehand by dist/server/cli/warm-compile-cache.js, as the
// image does at build time. `noCompileCache`: NODE_DISABLE_COMPILE_CACHE=1, every module compiled
// at every start. The two alternate.

export async function startup(ctx: BenchContext) {
  const times = scale(ctx, 7, 3);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-startup');
  const cache = scratch(ctx, 'compile-cache');
  // With the server's Node options, as the image does: V8's code cache holds only for the options it was made with.
  await runCommand(process.execPath, [...launchArgs(), ctx.built.warmCompileCache], { env: { NODE_COMPILE_CACHE: cache }, timeoutMs: 120_000 });
  const variants = {
    built: { NODE_COMPILE_CACHE: cache },
    noCompileCache: { NODE_DISABLE_COMPILE_CACHE: '1' },
  };
  const start = async (variant: keyof typeof variants, name: string) => {
    const kubevend = await startKubevend(ctx.built.server, {
      KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `startup-${name}.db`)}`, ...variants[variant],
    }, scratch(ctx, 'startup.log'));
    const rssMb = rssOf(kubevend.child.pid).totalMb;
    await kubevend.child.stop();
    return { ms: kubevend.readyMs, rssMb };
  };
  const measured: Record<keyof typeof variants, { ms: number; rssMb: number }[]> = { built: [], noCompileCache: [] };
  for (let i = 0; i < times; i++) {
    for (const variant of Object.keys(variants) as (keyof typeof variants)[]) measured[variant].push(await start(variant, `${variant}-${i}`));
  }
  log(`6. start-up: ${times} starts of each variant`);
  const summary = (list: { ms: number; rssMb: number }[]) => ({ ...summarise(list.map((m) => m.ms)), all: list.map((m) => m.ms), rssMb: Math.max(...list.map((m) => m.rssMb)) });
  return { times, built: summary(measured.built), noCompileCache: summary(measured.noCompileCache) };
}

export type StartupResult = Awaited<ReturnType<typeof startup>>;
