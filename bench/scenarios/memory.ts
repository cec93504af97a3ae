import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { entries, startKubevend, writePolicy } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import type { Usage } from '../servers/report-usage.ts';

// 4. Resident memory of one kubevend process (zero-latency gateway, SQLite) as issuances add up,
// read a second after each step's load has ended, without forcing a garbage collection.

export interface MemoryPoint {
  issuances: number;
  rssMb: number;
  heapUsedMb: number;
  /** The V8 heap as committed: what the garbage collector keeps, used or not. */
  heapTotalMb: number;
  throughput: number;
}

export async function memory(ctx: BenchContext) {
  const step = scale(ctx, 10_000, 1000);
  const steps = 10;
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-memory');
  const kubevend = await startKubevend(entries.nullKube, {
    KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, 'memory.db')}`,
  }, scratch(ctx, 'memory.log'), { ipc: true });
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const points: MemoryPoint[] = [];
  let issued = 0;
  try {
    const idle = await kubevend.child.ask<Usage>('usage');
    points.push({ issuances: 0, rssMb: mb(idle.memory.rss), heapUsedMb: mb(idle.memory.heapUsed), heapTotalMb: mb(idle.memory.heapTotal), throughput: NaN });
    for (let i = 1; i <= steps && Date.now() < ctx.deadline; i++) {
      const tokensFile = await ctx.ci.mint(step);
      const result = await runLoad(ctx.dir, {
        url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
        tokensFile, expectStatus: 201, connections: 10, warmup: 0, amount: step, maxSeconds: 300,
      });
      issued += result.ok;
      await new Promise((r) => setTimeout(r, 1000));
      const usage = await kubevend.child.ask<Usage>('usage');
      points.push({
        issuances: issued, rssMb: mb(usage.memory.rss), heapUsedMb: mb(usage.memory.heapUsed), heapTotalMb: mb(usage.memory.heapTotal),
        throughput: result.ok / (result.elapsedMs / 1000),
      });
      log(`4. memory: ${issued} issuances, RSS ${mb(usage.memory.rss).toFixed(1)} MB`);
    }
  } finally {
    await kubevend.child.stop();
  }
  const first = points[1]!;
  const last = points.at(-1)!;
  return { step, points, first, last, growth: last.rssMb / first.rssMb - 1 };
}

export type MemoryResult = Awaited<ReturnType<typeof memory>>;
