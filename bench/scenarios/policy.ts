import { join } from 'node:path';
import { log, type BenchContext } from '../lib/context.ts';
import { launchArgs } from '../lib/kubevend.ts';
import { runCommand } from '../lib/process.ts';
import type { Latency } from '../lib/stats.ts';

// 7. A large organisation's policy (bench/policy/large-org.ts) of 100, 1,000 and 10,000 pipelines:
// decisions one at a time, as kubevend decides (through the pipeline index) and by trying every
// pipeline (the baseline), for granted and refused jobs; the time to load the file (parsePolicy:
// YAML, schema, name guards, index) and to hot-reload it through the watcher. Each size and way in
// a process of its own with `npm start`'s Node options. Needs neither the control plane nor a store.

const measure = join(import.meta.dirname, '..', 'policy', 'measure.ts');

export interface PolicyDecisions {
  /** Decisions a second, over the time spent deciding alone. */
  perSecond: number;
  latencyUs: Latency;
  /** Granted jobs refused or refused jobs granted: 0 unless the generated policy is wrong. */
  wrong: number;
}

export interface PolicyMeasure {
  size: number;
  yamlBytes: number;
  /** Each list holds one figure a load, ms. */
  load: { parseMs: number[]; yamlMs: number[]; schemaMs: number[]; guardsMs: number[]; indexMs: number[]; reloadMs: number[] };
  decisions: { grant: PolicyDecisions; refusal: PolicyDecisions };
  heapUsedMb: number;
}

export interface PolicyStep {
  size: number;
  indexed: PolicyMeasure;
  scan: PolicyMeasure;
}

export async function policy(ctx: Pick<BenchContext, 'quick'>) {
  const sizes = process.env.BENCH_POLICY_SIZES?.split(',').map(Number) ?? [100, 1000, 10_000];
  const decideMs = ctx.quick ? 1000 : 4000;
  const loads = ctx.quick ? 1 : 2;
  const run = (size: number, way: 'indexed' | 'scan', times: number) =>
    runCommand(process.execPath, [...launchArgs(), measure, `${size}`, way, `${decideMs}`, `${times}`], { timeoutMs: 5 * 60_000 })
      .then((stdout) => JSON.parse(stdout.trim().split('\n').at(-1)!) as PolicyMeasure);
  const steps: PolicyStep[] = [];
  for (const size of sizes) {
    const indexed = await run(size, 'indexed', loads);
    const scan = await run(size, 'scan', 0);
    const [i, s] = [indexed.decisions, scan.decisions];
    log(`7. policy of ${size} pipelines: p99 ${i.grant.latencyUs.p99.toFixed(1)} µs granted, ${i.refusal.latencyUs.p99.toFixed(1)} µs refused `
      + `(every pipeline tried: ${s.grant.latencyUs.p99.toFixed(1)}, ${s.refusal.latencyUs.p99.toFixed(1)}); reload ${Math.max(...indexed.load.reloadMs).toFixed(0)} ms at most`);
    steps.push({ size, indexed, scan });
  }
  return { decideMs, loads, steps };
}

export type PolicyResult = Awaited<ReturnType<typeof policy>>;
