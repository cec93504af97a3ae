import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { log, scale, type BenchContext } from '../lib/context.ts';
import { startRealServer, type KubevendProcess } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { controlPlanePids, meterCpu, pinTo, rssOf } from '../lib/proc.ts';
import { runNodeJson } from '../lib/process.ts';
import { pool, type LoadResult } from '../lib/stats.ts';

// 1. Short-lived credentials through kubevend (src/server.ts, SQLite) against the local API server,
// versus the same two calls (anchor Secret, bound TokenRequest) made directly at the same
// concurrency; and, to tell the Kubernetes client's share from the service's, the same calls made
// through kubevend's own KubeGateway alone. Rounds alternate, so that every side meets the API server
// in the same state (its Secrets pile up). The CPU every process spends an issuance says where the
// two shared cores went.
//
// Every level runs twice: first with all processes sharing every core, then with the control plane
// on half of the cores and kubevend, its load generator and the direct clients on the other half. On
// shared cores, each millisecond kubevend spends is taken from the API server, so the ratio counts
// kubevend's CPU against the API server's; apart, as kubevend runs in production (not on the
// control plane's machines), the ratio says how close kubevend comes to the API server's own limit.

const direct = join(import.meta.dirname, '..', 'baseline', 'direct-issue.ts');

interface Side {
  results: LoadResult[];
  /** CPU ms by process over whole runs, warm-up included. */
  cpu: Record<string, number>;
  issued: number;
}

const newSide = (): Side => ({ results: [], cpu: {}, issued: 0 });

/** CPU each control-plane process spends a second with nothing asked of it. */
type IdleRates = Record<string, number>;

async function idleRates(pids: Record<string, number>, seconds: number): Promise<IdleRates> {
  const meter = meterCpu(pids);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return Object.fromEntries(Object.entries(meter()).map(([name, ms]) => [name, ms / seconds]));
}

/** Adds a run to a side: its result, and the CPU it cost beyond what the processes spend idle. */
function account(side: Side, result: LoadResult, cpu: Record<string, number>, warmup: number, wallMs: number, idle: IdleRates): void {
  side.results.push(result);
  side.issued += warmup + result.ok;
  for (const [name, ms] of Object.entries(cpu)) {
    side.cpu[name] = (side.cpu[name] ?? 0) + Math.max(0, ms - (idle[name] ?? 0) * (wallMs / 1000));
  }
}

function summary(side: Side, client: string) {
  const pooled = pool(side.results);
  const cpuMsPerIssuance = Object.fromEntries(Object.entries(side.cpu).map(([name, ms]) => [name, ms / side.issued]));
  cpuMsPerIssuance[client] = pooled.clientCpuMs / pooled.ok;
  return { ...pooled, cpuMsPerIssuance };
}

/** Where the processes ran: every core shared, or the control plane's cores apart from the clients'. */
export type Layout = { shared: true } | { shared: false; controlPlane: string; clients: string };

async function atConcurrency(ctx: BenchContext, kubevend: KubevendProcess, namespace: string, connections: number, amount: number, layout: Layout) {
  const rounds = scale(ctx, 4, 1);
  const warmup = Math.max(20, Math.round(amount / 8));
  const maxSeconds = 120;
  const controlPlane = controlPlanePids(ctx.controlPlaneDir);
  const idle = await idleRates(controlPlane, 3);
  const sides = { direct: newSide(), gateway: newSide(), kubevend: newSide() };
  for (let round = 1; round <= rounds; round++) {
    log(`1. upstream-bound, ${connections} at a time, ${layout.shared ? 'cores shared' : 'cores apart'}, round ${round}/${rounds}: ${amount} issuances directly, through kubevend's gateway alone, through kubevend`);
    for (const client of ['https', 'gateway'] as const) {
      const meter = meterCpu(controlPlane);
      const started = performance.now();
      const result = await runNodeJson<LoadResult>(direct,
        [client, ctx.kubeconfig, namespace, 'deployer', `${connections}`, `${warmup}`, `${amount}`, `${maxSeconds}`],
        { timeoutMs: (maxSeconds * 2 + 60) * 1000 });
      account(client === 'https' ? sides.direct : sides.gateway, result, meter(), warmup, performance.now() - started, idle);
    }
    const tokensFile = await ctx.ci.mint(warmup + amount);
    const meter = meterCpu({ ...controlPlane, kubevend: kubevend.child.pid });
    const started = performance.now();
    const load = await runLoad(ctx.dir, {
      url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
      tokensFile, expectStatus: 201, connections, warmup, amount, maxSeconds,
    });
    account(sides.kubevend, load, meter(), warmup, performance.now() - started, idle);
  }
  const k = summary(sides.kubevend, 'client (load generator)');
  const b = summary(sides.direct, 'client (direct)');
  return {
    connections, layout, rounds, amount, warmup, idleCpuMsPerSecond: idle,
    baseline: b, gateway: summary(sides.gateway, 'client (direct)'), kubevend: k,
    ratio: k.throughput / b.throughput,
    addedP50: k.latency.p50 - b.latency.p50,
    // Each round of kubevend beside the direct round that ran just before it: how far the pooled
    // figures hold within the run.
    byRound: sides.kubevend.results.map((result, i) => {
      const [kr, br] = [pool([result]), pool([sides.direct.results[i]!])];
      return { ratio: kr.throughput / br.throughput, addedP50: kr.latency.p50 - br.latency.p50 };
    }),
  };
}

/**
 * kubevend is a long-running server: before anything is measured it issues this many credentials,
 * eight at a time, so that V8 has compiled its request path (README's V8 notes) and no compilation
 * takes the shared cores in a measured round. The direct clients are processes of a round each
 * and have each round's warm-up, as kubevend has too.
 */
async function warmServer(ctx: BenchContext, kubevend: KubevendProcess, amount: number): Promise<void> {
  log(`1. upstream-bound: warming kubevend with ${amount} issuances, 8 at a time`);
  await runLoad(ctx.dir, {
    url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
    tokensFile: await ctx.ci.mint(amount), expectStatus: 201, connections: 8, warmup: 0, amount, maxSeconds: 120,
  });
}

export async function upstream(ctx: BenchContext) {
  const { kubevend, namespace } = await startRealServer(ctx, 'upstream');
  try {
    const serverWarmup = scale(ctx, 1000, 200);
    await warmServer(ctx, kubevend, serverWarmup);
    const levels = [];
    for (const layout of layouts()) {
      await arrange(ctx, kubevend, layout);
      levels.push(await atConcurrency(ctx, kubevend, namespace, 1, scale(ctx, 200, 100), layout));
      levels.push(await atConcurrency(ctx, kubevend, namespace, 8, scale(ctx, 750, 300), layout));
    }
    // For scenario 4, which measures with the zero-latency gateway: the real one's footprint.
    const issued = serverWarmup + levels.reduce((a, l) => a + l.kubevend.ok + l.rounds * l.warmup, 0);
    return { serverWarmup, levels, server: { issued, rssMb: rssOf(kubevend.child.pid).totalMb } };
  } finally {
    await kubevend.child.stop();
    // The later scenarios share the control plane, and the bench's children inherit its CPUs.
    await arrange(ctx, undefined, { shared: true });
  }
}

/** The cores the bench may use, counted before it pins anything. */
const cores = availableParallelism();

/** Shared cores; then, with two cores or more, the control plane on the first half, the rest on the others. */
function layouts(): Layout[] {
  if (cores < 2) return [{ shared: true }];
  const half = Math.floor(cores / 2);
  const list = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  return [{ shared: true }, { shared: false, controlPlane: list(0, half - 1), clients: list(half, cores - 1) }];
}

/**
 * Pins the control plane, the kubevend server and the bench itself (so the load generator and the
 * direct clients it starts from now on) to their layout's cores.
 */
async function arrange(ctx: BenchContext, kubevend: KubevendProcess | undefined, layout: Layout): Promise<void> {
  const every = `0-${cores - 1}`;
  const [controlPlane, clients] = layout.shared ? [every, every] : [layout.controlPlane, layout.clients];
  for (const pid of Object.values(controlPlanePids(ctx.controlPlaneDir))) await pinTo(pid, controlPlane);
  if (kubevend) await pinTo(kubevend.child.pid, clients);
  await pinTo(process.pid, clients);
}

export type UpstreamResult = Awaited<ReturnType<typeof upstream>>;
