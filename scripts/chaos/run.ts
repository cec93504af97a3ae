// npm run chaos: the chaos suite (scripts/chaos/scenarios.ts) in full, against two control planes
// of its own (one whose API server and etcd it faults, one left alone for the other scenarios, so
// that the faults of one scenario do not slow another's healing) and PostgreSQL servers of its own.
// Writes CHAOS.md; CHAOS_ONLY=a,b runs only those scenarios, and CHAOS_SHORT=1 with the short
// variant's timing (test/chaos.test.ts), either writing .kubevend/chaos/CHAOS.md instead;
// CHAOS_KEEP=1 keeps the scratch directory (logs of kubevend and the control planes).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtKubectl, startOwnControlPlane, type OwnControlPlane } from './control-plane.ts';
import { fullTiming, shortTiming, type ScenarioResult } from './harness.ts';
import { writeChaosReport, type ChaosRun } from './report.ts';
import { scenarios, type ChaosContext } from './scenarios.ts';

const root = join(import.meta.dirname, '..', '..');
const only = process.env.CHAOS_ONLY?.split(',').filter(Boolean);
const short = process.env.CHAOS_SHORT === '1';
const started = new Date();
const dir = await mkdtemp(join(tmpdir(), 'kubevend-chaos-'));
const planes: Promise<OwnControlPlane>[] = [];
const log = (text: string) => process.stderr.write(`[chaos ${Math.round((Date.now() - started.getTime()) / 1000)} s] ${text}\n`);

async function cleanup(): Promise<void> {
  await Promise.all(planes.map((p) => p.then((cp) => cp.stop(), () => {})));
  if (!process.env.CHAOS_KEEP) await rm(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

const kubectl = await builtKubectl();
const ownPlane = () => {
  const plane = startOwnControlPlane(kubectl);
  planes.push(plane);
  return plane;
};
log(`starting two control planes of the suite's own (scratch: ${dir})`);
const [calm, faulted] = [ownPlane(), ownPlane()];
const ctx: ChaosContext = { dir, cluster: (await calm).access, ownControlPlane: () => faulted };

const results: ScenarioResult[] = [];
const errors: ChaosRun['errors'] = [];
try {
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.id))) {
    log(`${scenario.id}: ${scenario.title}`);
    try {
      const result = await scenario.run(ctx, short ? shortTiming : fullTiming);
      results.push(result);
      log(`${scenario.id}: ${result.held ? 'all held' : `not held: ${result.checks.filter((c) => !c.held).map((c) => c.invariant).join('; ')}`}`);
    } catch (err) {
      errors.push({ id: scenario.id, title: scenario.title, error: (err as Error).message });
      log(`${scenario.id}: could not run: ${(err as Error).stack}`);
    }
  }
  log('watching what had not healed by the goal, until it does or its time is up');
  await Promise.all(results.map((r) => r.settled));
} finally {
  await cleanup();
}

const partial = only || short;
const report = partial ? join(root, '.kubevend', 'chaos', 'CHAOS.md') : join(root, 'CHAOS.md');
await mkdir(join(report, '..'), { recursive: true });
await writeChaosReport(report, {
  command: [only ? `CHAOS_ONLY=${only.join(',')}` : '', short ? 'CHAOS_SHORT=1' : '', 'npm run chaos'].filter(Boolean).join(' '),
  startedAt: started, durationS: (Date.now() - started.getTime()) / 1000, results, errors,
});
log(`written to ${report}`);
