import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { startKubevend, startRealServer, writePolicy } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { rssOf } from '../lib/proc.ts';
import type { Usage } from '../servers/report-usage.ts';

// 4. Resident memory of one kubevend process (zero-latency gateway, SQLite) as issuances add up,
// read a second after each step's load has ended, without forcing a garbage collection.

export interface MemoryPoint {
  issuances: number;
  rssMb: number;
  /** Resident pages backed by files: mostly the node binary's code, shared with other processes. */
  rssFileMb: number;
  heapUsedMb: number;
  /** The V8 heap as committed: what the garbage collector keeps, used or not. */
  heapTotalMb: number;
  /** Memory outside the V8 heap that V8 objects hold (Buffers, ArrayBuffers): freed by their GC. */
  externalMb: number;
  throughput: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

async function issueInSteps(ctx: BenchContext, name: string, step: number, steps: number): Promise<MemoryPoint[]> {
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-memory');
  const kubevend = await startKubevend(ctx.built.nullKube, {
    KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `${name}.db`)}`,
  }, scratch(ctx, `${name}.log`), { ipc: true });
  const points: MemoryPoint[] = [];
  const read = async (issuances: number, throughput: number) => {
    const { memory } = await kubevend.child.ask<Usage>('usage');
    points.push({
      issuances, rssMb: mb(memory.rss), rssFileMb: rssOf(kubevend.child.pid).fileMb,
      heapUsedMb: mb(memory.heapUsed), heapTotalMb: mb(memory.heapTotal), externalMb: mb(memory.external), throughput,
    });
  };
  let issued = 0;
  try {
    await read(0, NaN);
    for (let i = 1; i <= steps && Date.now() < ctx.deadline; i++) {
      const tokensFile = await ctx.ci.mint(step);
      const result = await runLoad(ctx.dir, {
        url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
        tokensFile, expectStatus: 201, connections: 10, warmup: 0, amount: step, maxSeconds: 300,
      });
      issued += result.ok;
      await new Promise((r) => setTimeout(r, 1000));
      await read(issued, result.ok / (result.elapsedMs / 1000));
      log(`4. memory (${name}): ${issued} issuances, RSS ${points.at(-1)!.rssMb.toFixed(1)} MB`);
    }
  } finally {
    await kubevend.child.stop();
  }
  return points;
}

/**
 * The real server (built, as `npm start` runs it, with the parts of @kubernetes/client-node it uses)
 * against the API server: resident memory when ready and after short-lived issuances; read from /proc.
 */
async function realServer(ctx: BenchContext, amount: number) {
  const { kubevend } = await startRealServer(ctx, 'memory-server');
  try {
    const ready = rssOf(kubevend.child.pid);
    const tokensFile = await ctx.ci.mint(amount);
    const result = await runLoad(ctx.dir, {
      url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
      tokensFile, expectStatus: 201, connections: 10, warmup: 0, amount, maxSeconds: 300,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssOf(kubevend.child.pid);
    log(`4. memory (real server): ${result.ok} issuances, RSS ${after.totalMb.toFixed(1)} MB`);
    return { readyRssMb: ready.totalMb, issued: result.ok, rssMb: after.totalMb, rssFileMb: after.fileMb, throughput: result.ok / (result.elapsedMs / 1000) };
  } finally {
    await kubevend.child.stop();
  }
}

export async function memory(ctx: BenchContext) {
  const step = scale(ctx, 10_000, 1000);
  const points = await issueInSteps(ctx, 'memory', step, 10);
  const first = points[1]!;
  const last = points.at(-1)!;
  const server = Date.now() < ctx.deadline ? await realServer(ctx, scale(ctx, 10_000, 2000)) : undefined;
  return { step, points, first, last, growth: last.rssMb / first.rssMb - 1, server };
}

export type MemoryResult = Awaited<ReturnType<typeof memory>>;
