// kubevend's issuing path in one process, for comparing two versions of the code or two sets of
// Node options: the app as null-kube-app.ts wires it (SQLite, info logging, the zero-latency
// gateway), driven by `app.inject`, so that no load generator shares the cores and no socket is in
// the way. It prints the CPU an issuance costs, the whole process and its main thread apart (the
// main thread leaves out the thread pool's signature checks and the checkpointer). Runs from the
// sources; the bench's own figures come from the built server over HTTP.
//   node [node options] bench/profile/in-process.ts
// Environment: CONCURRENCY (10), WARMUP (3000), AMOUNT (5000) a round, ROUNDS (3), LOG_LEVEL (info);
// HEAP=1 also prints what each function allocates an issuance (V8's sampling heap profiler, with
// the objects already collected counted); CPU_PROFILE=FILE writes a V8 CPU profile of the measured
// rounds alone (no start-up, minting or warm-up), for top-frames.ts. KUBECONFIG=FILE NAMESPACE=NS
// issues through kubevend's own gateway against that cluster instead (NS holding the ServiceAccount
// `deployer`, as on a control plane from scripts/control-plane/control-plane.sh); PHASES=1 prints
// the wall time each phase of an issuance takes (the store's three writes, the two Kubernetes calls,
// and the rest: HTTP, verification, policy, the answer). PAUSE_MS=N makes the zero-latency gateway
// answer each call after N ms, as an API server keeps its client waiting: what idling between calls
// does to the CPU an issuance costs. LADDER=1 prints, instead of the rounds above, the CPU a request
// costs at each step of the way to an issuance: a route that does nothing, a refusal before the
// token is read (which the ledger records), verification and policy (`/v1/explain`), an issuance.
import { Session } from 'node:inspector/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { generateKeyPairSync } from 'node:crypto';
import { buildApp } from '../../src/app.ts';
import { fileSink } from '../../src/sinks/file.ts';
import { createSinkQueue } from '../../src/sinks/queue.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { loggerOptions } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { watchPolicyFile } from '../../src/policy/watch.ts';
import type { KubeGateway } from '../../src/services/ports.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/ports.ts';
import { createCiIssuer } from '../lib/ci-tokens.ts';
import { writePolicy } from '../lib/kubevend.ts';
import { nullKubeGateway } from '../servers/null-gateway.ts';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const concurrency = setting('CONCURRENCY', 10);
const warmup = setting('WARMUP', 3000);
const amount = setting('AMOUNT', 5000);
const rounds = setting('ROUNDS', 3);
const pauseMs = setting('PAUSE_MS', 0);
const ladder = process.env.LADDER === '1';
/** CPU time in ms a request, over `amount` requests. */
const msEach = (usage: NodeJS.CpuUsage) => ((usage.user + usage.system) / 1000 / amount).toFixed(3);
if (ladder && (process.env.CPU_PROFILE || process.env.HEAP === '1' || process.env.PHASES === '1')) {
  throw new Error('LADDER=1 measures steps of its own: it takes no CPU_PROFILE, HEAP or PHASES');
}

/** Wraps the gateway's and the store's calls of an issuance to sum the wall time each takes. */
function timePhases(kube: KubeGateway, store: Store): { clear(): void; totals(): [string, number][] } {
  const totals = new Map<string, number>();
  const time = <T extends object>(target: T, method: keyof T & string, name: string) => {
    const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
    totals.set(name, 0);
    Object.assign(target, {
      [method]: async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await original(...args);
        } finally {
          totals.set(name, totals.get(name)! + performance.now() - started);
        }
      },
    });
  };
  time(store.replay, 'acceptOnce', 'store: spend the jti');
  time(store.issuances, 'createPending', 'store: write-ahead');
  time(kube, 'create', 'kube: anchor Secret');
  time(kube, 'createServiceAccountToken', 'kube: TokenRequest');
  time(store.grants, 'commit', 'store: record');
  return { clear: () => totals.forEach((_, name) => totals.set(name, 0)), totals: () => [...totals] };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const dir = await mkdtemp(join(tmpdir(), 'kubevend-in-process-'));
try {
  // The policy names a cluster; the zero-latency gateway never reads its kubeconfig.
  const realCluster = process.env.KUBECONFIG;
  const kubeconfig = realCluster ?? join(dir, 'kubeconfig');
  if (!realCluster) await writeFile(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'local',
    clusters: [{ name: 'local', cluster: { server: 'https://127.0.0.1:6443' } }],
    users: [{ name: 'local', user: { token: 'unused' } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'local' } }],
  }));
  const ci = await createCiIssuer(dir, 2);
  const perRound = ladder ? amount + Math.ceil(amount / 5) : amount;
  const tokens = (await readFile(await ci.mint(warmup + perRound * rounds), 'utf8')).trim().split('\n');
  const policyFile = await writePolicy(dir, ci, kubeconfig, process.env.NAMESPACE ?? 'in-process');
  const logger = pino(loggerOptions(process.env.LOG_LEVEL ?? 'info'), pino.destination({ dest: join(dir, 'kubevend.log'), sync: false }));
  const policy = await watchPolicyFile(policyFile, { logger });
  const store = await openStore(`sqlite://${join(dir, 'kubevend.db')}`);
  const kube = realCluster ? createKubeGateway(policy.current().clusters) : nullKubeGateway({ pauseMs });
  const phases = process.env.PHASES === '1' ? timePhases(kube, store) : undefined;
  // AUDIT=fail-closed or best-effort: checkpoints signed and a file sink of that mode, as the
  // bench's servers run; AUDIT=checkpoints: checkpoints alone.
  const sinkMode = process.env.AUDIT === 'fail-closed' || process.env.AUDIT === 'best-effort' ? process.env.AUDIT : undefined;
  const audit = {
    ...(process.env.AUDIT ? { checkpoints: { key: { ...generateKeyPairSync('ed25519'), keyId: 'bench' }, origin: 'bench', everyRecords: 1000, intervalMs: 10_000 } } : {}),
    ...(sinkMode ? { auditSinks: [createSinkQueue({ name: 'file', mode: sinkMode, maxBuffer: 10_000, batchSize: 500, send: fileSink({ path: join(dir, 'audit.ndjson'), maxBytes: 100 << 20, keep: 1 }) })] } : {}),
  };
  const app = await buildApp({
    policy, kube, store, fingerprintKey: Buffer.alloc(32, 1), metrics: createMetrics(), logger, durableTokenTimeoutMs: 30_000, ...audit,
  });
  await app.ready();

  let next = 0;
  type Ask = () => InjectOptions;
  const json = { 'content-type': 'application/json' };
  const issuance: Ask = () => ({ method: 'POST', url: '/v1/credentials', payload: '{}', headers: { authorization: `Bearer ${tokens[next++]}`, ...json } });
  /** Sends `count` requests, `concurrency` at a time, each of which must answer `status`. */
  const drive = async (count: number, ask: Ask, status: number) => {
    let left = count;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const res = await app.inject(ask());
        if (res.statusCode !== status) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
      }
    }));
  };
  const issue = (count: number) => drive(count, issuance, 201);

  await issue(warmup);
  if (ladder) {
    // Each step adds to the one before: the framework alone, a refusal (which the ledger records),
    // verification and policy (explaining spends nothing, so one token serves), then an issuance.
    const steps: [string, Ask, number][] = [
      ['GET /healthz: Fastify, the hooks, request logging', () => ({ method: 'GET', url: '/healthz' }), 200],
      ['POST /v1/credentials, no token: 401, recorded in the ledger', () => ({ method: 'POST', url: '/v1/credentials', payload: '{}', headers: json }), 401],
      ['POST /v1/explain: the token verified, the policy asked', () => ({ method: 'POST', url: '/v1/explain', payload: '{}', headers: { authorization: `Bearer ${tokens[0]}`, ...json } }), 200],
      ['POST /v1/credentials: an issuance', issuance, 201],
    ];
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`round ${round}, CPU ms a request (main thread / whole process), ${concurrency} at a time:\n`);
      for (const [name, ask, status] of steps) {
        await drive(Math.ceil(amount / 5), ask, status);
        const [process0, thread0] = [process.cpuUsage(), process.threadCpuUsage()];
        await drive(amount, ask, status);
        process.stdout.write(`  ${msEach(process.threadCpuUsage(thread0))} / ${msEach(process.cpuUsage(process0))}  ${name}\n`);
      }
    }
  }
  const heap = process.env.HEAP === '1' ? new Session() : undefined;
  if (heap) {
    heap.connect();
    await heap.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const cpuProfile = process.env.CPU_PROFILE;
  const cpu = cpuProfile ? new Session() : undefined;
  if (cpu) {
    cpu.connect();
    await cpu.post('Profiler.enable');
    await cpu.post('Profiler.start');
  }
  for (let round = 1; round <= (ladder ? 0 : rounds); round++) {
    phases?.clear();
    const [process0, thread0, wall0] = [process.cpuUsage(), process.threadCpuUsage(), performance.now()];
    await issue(amount);
    const [used, thread, wall] = [process.cpuUsage(process0), process.threadCpuUsage(thread0), performance.now() - wall0];
    process.stdout.write(`round ${round}: CPU ${msEach(used)} ms an issuance (main thread ${msEach(thread)}), ${(wall / amount).toFixed(3)} ms of wall time an issuance, ${concurrency} at a time\n`);
    if (phases) {
      // Wall time summed over every issuance in flight, so `the rest` is per issuance too.
      const spent = phases.totals().map(([name, total]) => [name, total / amount] as const);
      const rest = (wall * concurrency) / amount - spent.reduce((a, [, v]) => a + v, 0);
      process.stdout.write(`  wall ms an issuance: ${[...spent, ['the rest', rest] as const].map(([name, v]) => `${name} ${v.toFixed(3)}`).join(', ')}\n`);
    }
  }
  if (cpu) {
    const { profile } = await cpu.post('Profiler.stop');
    await writeFile(cpuProfile!, JSON.stringify(profile));
  }
  if (heap) {
    const { profile } = await heap.post('HeapProfiler.stopSampling');
    const bytes = new Map<string, number>();
    const walk = (node: HeapNode) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}`;
      bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize);
      node.children.forEach(walk);
    };
    walk(profile.head as HeapNode);
    const kb = (n: number) => (n / 1024 / amount / rounds).toFixed(2).padStart(7);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`\nallocated, KB an issuance: ${kb(total).trim()}\n`);
    for (const [name, n] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${kb(n)}  ${name}\n`);
  }
  await app.close();
  await store.close();
  policy.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
