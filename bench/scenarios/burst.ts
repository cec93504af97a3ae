import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claimsFor } from '../lib/ci-tokens.ts';
import { log, scratch, type BenchContext } from '../lib/context.ts';
import { startRealServer, type KubevendProcess } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { runNodeJson } from '../lib/process.ts';
import { summarise } from '../lib/stats.ts';
import type { BurstAnswer, BurstConfig } from '../load/burst.ts';

// 8. A burst of CI jobs: N at once (distinct valid tokens, no retries) through kubevend (the real
// server, built, `npm start`'s options, SQLite, its admission and back-pressure at their defaults)
// versus the same N as direct calls to the API server, all at once. Two pipelines, one sending 90 %
// of the jobs and the other 10 %, interleaved: fair queuing should let the small one finish early.

const client = join(import.meta.dirname, '..', 'load', 'burst.ts');
const direct = join(import.meta.dirname, '..', 'baseline', 'direct-burst.ts');
const [big, small] = ['web', 'api'];

export interface BurstPipeline {
  sent: number;
  served: number;
  /** Completion times of its credentials, ms from the burst's start. */
  p50: number;
  p90: number;
  last: number;
}

export interface BurstSide {
  sent: number;
  served: number;
  /** Every answer but 201, by `status code`. */
  refused: Record<string, number>;
  /** From the burst's start to the last credential, ms. */
  lastMs: number;
  pipelines: Record<string, BurstPipeline>;
}

function summary(answers: BurstAnswer[]): BurstSide {
  const refused: Record<string, number> = {};
  for (const a of answers) {
    if (a.status === 201) continue;
    const key = `${a.status || 'no answer'} ${a.code}`;
    refused[key] = (refused[key] ?? 0) + 1;
  }
  const pipelines = Object.fromEntries([big!, small!].map((pipeline) => {
    const mine = answers.filter((a) => a.pipeline === pipeline);
    const done = summarise(mine.filter((a) => a.status === 201).map((a) => a.ms));
    return [pipeline, { sent: mine.length, served: done.count, p50: done.p50, p90: done.p90, last: done.max }];
  }));
  const served = answers.filter((a) => a.status === 201);
  return { sent: answers.length, served: served.length, refused, lastMs: summarise(served.map((a) => a.ms)).max, pipelines };
}

/** Request i belongs to the small pipeline when i % 10 is 9: a tenth of them, spread through the burst. */
const orderOf = (jobs: number) => Array.from({ length: jobs }, (_, i) => (i % 10 === 9 ? small! : big!));

async function burstOf(ctx: BenchContext, kubevend: KubevendProcess, namespace: string, jobs: number) {
  const order = orderOf(jobs);
  const orderFile = scratch(ctx, `burst-order-${jobs}.json`);
  await writeFile(orderFile, JSON.stringify(order));
  const tokensFiles: Record<string, string> = {};
  for (const pipeline of [big!, small!]) tokensFiles[pipeline] = await ctx.ci.mint(order.filter((p) => p === pipeline).length, claimsFor(pipeline));
  log(`8. burst of ${jobs}: directly to the API server`);
  const baseline = summary(await runNodeJson<BurstAnswer[]>(direct, [ctx.kubeconfig, namespace, 'deployer', orderFile], { timeoutMs: 5 * 60_000 }));
  // The API server settles (its Secrets written, its connections closed) before kubevend's turn.
  await new Promise((r) => setTimeout(r, 5000));
  log(`8. burst of ${jobs}: through kubevend`);
  const configFile = scratch(ctx, `burst-${jobs}.json`);
  await writeFile(configFile, JSON.stringify({ url: kubevend.url, order, tokensFiles } satisfies BurstConfig));
  const through = summary(await runNodeJson<BurstAnswer[]>(client, [configFile], { timeoutMs: 5 * 60_000 }));
  log(`8. burst of ${jobs}: direct ${baseline.served} served, last at ${baseline.lastMs.toFixed(0)} ms; kubevend ${through.served} served, last at ${through.lastMs.toFixed(0)} ms`);
  await new Promise((r) => setTimeout(r, 5000));
  return { jobs, direct: baseline, kubevend: through };
}

export async function burst(ctx: BenchContext, name = 'burst') {
  const sizes = ctx.quick ? [100, 300] : [100, 300, 500];
  const { kubevend, namespace } = await startRealServer(ctx, name, { pipelines: [big!, small!] });
  try {
    // A long-running server has compiled its request path: warm it as scenario 1 does.
    const warmup = ctx.quick ? 100 : 300;
    log(`8. burst: warming kubevend with ${warmup} issuances, 8 at a time`);
    await runLoad(ctx.dir, {
      url: kubevend.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
      tokensFile: await ctx.ci.mint(warmup, claimsFor(big!)), expectStatus: 201, connections: 8, warmup: 0, amount: warmup, maxSeconds: 120,
    });
    const bursts = [];
    for (const jobs of sizes) bursts.push(await burstOf(ctx, kubevend, namespace, jobs));
    return { namespace, pipelines: { big: big!, small: small! }, warmup, bursts };
  } finally {
    await kubevend.child.stop();
  }
}

export type BurstResult = Awaited<ReturnType<typeof burst>>;
