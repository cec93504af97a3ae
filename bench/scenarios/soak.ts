import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claimsFor } from '../lib/ci-tokens.ts';
import { log, scratch, type BenchContext } from '../lib/context.ts';
import { startRealServer } from '../lib/kubevend.ts';
import { runNodeJson } from '../lib/process.ts';
import type { ServerSample, SoakConfig, SoakRun } from '../load/soak.ts';

// 9. A soak: the real server (built, `npm start`'s options, SQLite, the reaper on at its default
// interval, as deployed) issuing at a fixed rate well under its capacity, spread over four
// pipelines, for SOAK_MINUTES (30; 2 in the quick run) after a minute's warm-up at the same rate.
// Whatever grows from the start to the end (memory, descriptors, event-loop delay, latency) is a leak
// or a build-up.

const client = join(import.meta.dirname, '..', 'load', 'soak.ts');
const pipelines = ['web', 'api', 'docs', 'infra'];
const rate = 20;
const warmupSeconds = 60;

/** The soak's length, minutes; npm run bench counts it into the run's time. */
export const soakMinutes = (quick: boolean): number => Number(process.env.SOAK_MINUTES ?? (quick ? 2 : 30));

export async function soak(ctx: BenchContext, name = 'soak') {
  const minutes = soakMinutes(ctx.quick);
  // The CI tokens of bench/tokens/mint.ts live two hours: enough for any soak a run does.
  const each = Math.ceil((rate * (warmupSeconds + minutes * 60)) / pipelines.length);
  log(`9. soak: minting ${each * pipelines.length} tokens`);
  const tokensFiles: Record<string, string> = {};
  for (const pipeline of pipelines) tokensFiles[pipeline] = await ctx.ci.mint(each, claimsFor(pipeline));
  const { kubevend, namespace } = await startRealServer(ctx, name, { pipelines, env: { KUBEVEND_REAPER_INTERVAL: '60' } });
  try {
    log(`9. soak: ${rate} issuances/s over ${pipelines.length} pipelines, ${warmupSeconds} s of warm-up, then ${minutes} min`);
    const configFile = scratch(ctx, `${name}.json`);
    await writeFile(configFile, JSON.stringify({ url: kubevend.url, pid: kubevend.child.pid, rate, warmupSeconds, minutes, tokensFiles } satisfies SoakConfig));
    const run = await runNodeJson<SoakRun>(client, [configFile], { timeoutMs: (warmupSeconds + minutes * 60 + 300) * 1000 });
    const end = run.byMinute.at(-1)!.server;
    const growth = Object.fromEntries(Object.keys(end).map((k) => [k, end[k as keyof ServerSample] / run.start[k as keyof ServerSample]])) as unknown as ServerSample;
    log(`9. soak: RSS ${run.start.rssMb.toFixed(1)} → ${end.rssMb.toFixed(1)} MB, heap ${run.start.heapUsedMb.toFixed(1)} → ${end.heapUsedMb.toFixed(1)} MB, ${run.start.fds} → ${end.fds} descriptors`);
    return { namespace, rate, pipelines, warmupSeconds, minutes, ...run, end, growth };
  } finally {
    await kubevend.child.stop();
  }
}

export type SoakResult = Awaited<ReturnType<typeof soak>>;
