// npx node bench/fleet/alone.ts burst|soak: scenario 8 (a burst of jobs) or 9 (a soak) alone.
// BENCH_KUBECONFIG=DIR/admin.kubeconfig reuses a control plane that
// `scripts/control-plane/control-plane.sh start DIR` started (its kubectl beside it; the run's
// namespace is deleted at the end), else one is started and stopped; BENCH_DATABASE_URL only names
// PostgreSQL's version among the machine's facts. Builds the server as the whole run does. Prints the
// section npm run bench writes into BENCHMARKS.md, after a line giving the command, the machine and
// its load; keeps the results in .kubevend/bench/NAME.json. BENCH_QUICK=1 and SOAK_MINUTES as for
// the whole run.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildEntries } from '../lib/build.ts';
import { createCiIssuer } from '../lib/ci-tokens.ts';
import { kubectl, log, type BenchContext } from '../lib/context.ts';
import { describeMachine } from '../lib/machine.ts';
import { killAll } from '../lib/process.ts';
import { burstSection, soakSection } from '../lib/report-fleet.ts';
import { freePorts, startControlPlane } from '../lib/services.ts';
import { burst } from '../scenarios/burst.ts';
import { soak } from '../scenarios/soak.ts';

const which = process.argv[2];
if (which !== 'burst' && which !== 'soak') {
  process.stderr.write('usage: npx node bench/fleet/alone.ts burst|soak\n');
  process.exit(2);
}
const root = join(import.meta.dirname, '..', '..');
const quick = process.env.BENCH_QUICK === '1';
const reused = process.env.BENCH_KUBECONFIG;
const before = loadavg()[0]!;
const started = new Date();
const dir = await mkdtemp(join(tmpdir(), 'kubevend-bench-'));
const stops: (() => Promise<void>)[] = [];
let ctx: BenchContext | undefined;
let namespace: string | undefined;

async function cleanup(): Promise<void> {
  killAll();
  // A shared control plane outlives the run: take back what the run put there.
  if (reused && ctx && namespace) await kubectl(ctx, ['delete', 'namespace', namespace, '--wait=false']).catch((err) => log(`could not delete ${namespace}: ${err}`));
  await Promise.all(stops.map((stop) => stop()));
  if (!process.env.BENCH_KEEP) await rm(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

try {
  log(`building${reused ? '' : ', starting a control plane'} (scratch: ${dir})`);
  const [kubeconfig, ci, built] = await Promise.all([
    reused ?? freePorts(3).then((ports) => startControlPlane(join(dir, 'control-plane'), ports, (stop) => stops.push(stop))),
    createCiIssuer(dir, availableParallelism()),
    buildEntries(dir),
  ]);
  const controlPlaneDir = reused ? dirname(reused) : join(dir, 'control-plane');
  ctx = {
    quick, dir, deadline: Number.POSITIVE_INFINITY, ci, built, kubeconfig, controlPlaneDir,
    kubectl: join(controlPlaneDir, 'kubectl'), databaseUrl: process.env.BENCH_DATABASE_URL ?? '',
  };
  const m = await describeMachine(ctx);
  // A name of its own, so that a shared control plane can hold several runs' namespaces.
  const name = `${which}-${Date.now().toString(36)}`;
  namespace = `bench-${name}`;
  const result = which === 'burst' ? await burst(ctx, name) : await soak(ctx, name);
  const after = loadavg()[0]!;
  const command = `${which === 'soak' && process.env.SOAK_MINUTES ? `SOAK_MINUTES=${process.env.SOAK_MINUTES} ` : ''}npx node bench/fleet/alone.ts ${which}`;
  const section = which === 'burst' ? burstSection(result as Awaited<ReturnType<typeof burst>>) : soakSection(result as Awaited<ReturnType<typeof soak>>);
  const preface = `Measured alone by \`${command}\`${quick ? ' (BENCH_QUICK=1)' : ''} on ${started.toISOString().slice(0, 10)}, not in a full run: ${m.cores} cores (${m.cpu}), ${m.memoryGb.toFixed(1)} GB memory, shared by the client, kubevend and the control plane; Node ${m.node}, Kubernetes ${m.kubernetes}. Other load on the machine: one-minute load average ${before.toFixed(1)} before, ${after.toFixed(1)} after.`;
  await mkdir(join(root, '.kubevend', 'bench'), { recursive: true });
  await writeFile(join(root, '.kubevend', 'bench', `${which}.json`), JSON.stringify({ startedAt: started.toISOString(), command, loadAverage: { before, after }, machine: m, result }, null, 1));
  process.stdout.write(`${[section[0], '', preface, ...section.slice(1)].join('\n')}\n`);
} finally {
  await cleanup();
}
