import { join } from 'node:path';
import { log, scale, type BenchContext } from '../lib/context.ts';
import { startRealServer } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { runNodeJson } from '../lib/process.ts';
import { pool, type LoadResult } from '../lib/stats.ts';

// 5. A durable token through kubevend (src/server.ts, real gateway), one request at a time, versus
// the token controller's own time: a token Secret created directly and watched until it is filled.
// kube-controller-manager's client is rate-limited (20 requests/s, bursts of 30, by default) and a fill
// costs it two requests: sustained, fills queue behind that limit whoever asks. So both sides take
// small batches in turn, each after a pause that refills the limiter, and measure the fill itself.

const baseline = join(import.meta.dirname, '..', 'baseline', 'durable-direct.ts');

export async function durable(ctx: BenchContext) {
  const rounds = scale(ctx, 12, 3);
  const count = 5;
  const warmup = 1;
  const refill = () => new Promise((r) => setTimeout(r, 2000));
  const { kubevend, namespace } = await startRealServer(ctx, 'durable');
  const direct: LoadResult[] = [];
  const through: LoadResult[] = [];
  try {
    log(`5. durable tokens: ${rounds} rounds of ${count} directly, then ${count} through kubevend, one at a time`);
    for (let round = 1; round <= rounds; round++) {
      await refill();
      direct.push(await runNodeJson<LoadResult>(baseline, [ctx.kubeconfig, namespace, 'deployer', `${warmup}`, `${count}`], { timeoutMs: 5 * 60_000 }));
      const tokensFile = await ctx.ci.mint(warmup + count);
      await refill();
      through.push(await runLoad(ctx.dir, {
        url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{"kind":"durable"}', headers: { 'content-type': 'application/json' },
        tokensFile, expectStatus: 201, connections: 1, warmup, amount: count, maxSeconds: 120,
      }));
    }
  } finally {
    await kubevend.child.stop();
  }
  const k = pool(through);
  const b = pool(direct);
  return { rounds, count, kubevend: k, controller: b, addedP50: k.latency.p50 - b.latency.p50 };
}

export type DurableResult = Awaited<ReturnType<typeof durable>>;
