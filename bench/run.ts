// npm run bench: starts a control plane and PostgreSQL on loopback, runs every scenario with its
// baseline, stops everything it started and writes BENCHMARKS.md. BENCH_QUICK=1: a reduced run
// whose report goes to .kubevend/bench/ instead; BENCH_ONLY=a,b: only those scenarios (likewise).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEntries, type BuiltEntries } from './lib/build.ts';
import { createCiIssuer, type CiIssuer } from './lib/ci-tokens.ts';
import { log, type BenchContext } from './lib/context.ts';
import { describeMachine } from './lib/machine.ts';
import { killAll } from './lib/process.ts';
import { writeReport, type Results } from './lib/report.ts';
import { freePorts, startControlPlane, startPostgres } from './lib/services.ts';
import { durable } from './scenarios/durable.ts';
import { ledger } from './scenarios/ledger.ts';
import { memory } from './scenarios/memory.ts';
import { policy } from './scenarios/policy.ts';
import { burst } from './scenarios/burst.ts';
import { service } from './scenarios/service.ts';
import { soak, soakMinutes } from './scenarios/soak.ts';
import { startup } from './scenarios/startup.ts';
import { upstream } from './scenarios/upstream.ts';

const root = join(import.meta.dirname, '..');
const quick = process.env.BENCH_QUICK === '1';
const started = Date.now();
// Scenarios stop starting (and long loads stop loading) at the deadline; the watchdog ends the run.
// The soak (SOAK_MINUTES, 30 by default) runs last, for as long as it is asked, and its time is added.
const budgetMs = ((quick ? 8 : 22) + soakMinutes(quick) + 5) * 60_000;
const deadline = started + budgetMs;
const dir = await mkdtemp(join(tmpdir(), 'kubevend-bench-'));
const stops: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  killAll();
  await Promise.all(stops.map((stop) => stop()));
  if (!process.env.BENCH_KEEP) await rm(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}
const watchdog = setTimeout(() => {
  log('the run overran its time: stopping everything');
  void cleanup().finally(() => process.exit(1));
}, budgetMs + 10 * 60_000);
watchdog.unref();

const results: Results = {
  startedAt: new Date(started).toISOString(), durationMs: 0, quick, loadAverage: { before: loadavg()[0]!, after: NaN },
  command: quick ? 'BENCH_QUICK=1 npm run bench' : 'npm run bench', errors: {},
};
try {
  log(`building, starting a control plane and PostgreSQL on loopback (scratch: ${dir})`);
  const [etcd, peer, apiserver, postgresPort] = await freePorts(4);
  // Side by side; all settle before a failure counts, so that nothing half-started is left behind.
  const settled = await Promise.allSettled([
    startControlPlane(join(dir, 'control-plane'), [etcd!, peer!, apiserver!], (stop) => stops.push(stop)),
    startPostgres(postgresPort!, (stop) => stops.push(stop)),
    createCiIssuer(dir, availableParallelism()),
    buildEntries(dir),
  ]);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  const [kubeconfig, databaseUrl, ci, built] = settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [string, string, CiIssuer, BuiltEntries];
  const ctx: BenchContext = {
    quick, dir, deadline, ci, built,
    kubeconfig,
    kubectl: join(dir, 'control-plane', 'kubectl'),
    controlPlaneDir: join(dir, 'control-plane'),
    databaseUrl,
  };
  results.machine = await describeMachine(ctx);
  const scenarios = { startup, upstream, durable, service, memory, ledger, policy, burst, soak } as const;
  // BENCH_ONLY=upstream,ledger: some scenarios only, for development.
  const only = process.env.BENCH_ONLY?.split(',');
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only && !only.includes(name)) continue;
    if (Date.now() > deadline) {
      results.errors[name] = 'not run: the run\'s time was up';
      continue;
    }
    try {
      (results as unknown as Record<string, unknown>)[name] = await scenario(ctx);
    } catch (err) {
      log(`${name} failed: ${(err as Error).stack}`);
      results.errors[name] = (err as Error).message.split('\n')[0]!;
    }
  }
} catch (err) {
  results.errors.setup = (err as Error).message.split('\n')[0]!;
  log(`set-up failed: ${(err as Error).stack}`);
} finally {
  log('stopping everything the run started');
  await cleanup();
}
results.durationMs = Date.now() - started;
results.loadAverage.after = loadavg()[0]!;
const partial = quick || process.env.BENCH_ONLY !== undefined;
const out = partial ? join(root, '.kubevend', 'bench') : root;
await mkdir(join(root, '.kubevend', 'bench'), { recursive: true });
const report = join(out, partial ? 'BENCHMARKS-partial.md' : 'BENCHMARKS.md');
await writeFile(join(root, '.kubevend', 'bench', `results${partial ? '-partial' : ''}.json`), JSON.stringify(results, null, 1));
await writeReport(report, results);
log(`done in ${(results.durationMs / 60_000).toFixed(1)} min: ${report}`);
process.exit(Object.keys(results.errors).length ? 1 : 0);
