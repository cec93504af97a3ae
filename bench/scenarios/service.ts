import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadConfig } from '../load/autocannon.ts';
import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { startKubevend, writePolicy, type KubevendProcess } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { pool, type LoadResult } from '../lib/stats.ts';
import { summariseProfile } from '../profile/summary.ts';
import type { Usage } from '../servers/report-usage.ts';

// 2. kubevend's own cost: the whole issuance path with the zero-latency gateway, versus a bare
// Fastify route that only verifies the CI token (jose, the same key), the one with kubevend's launch
// options (`npm start`'s), the other with Node's defaults. CPU time is the server
// process's own process.cpuUsage() over the measured requests. One more kubevend run, under the
// CPU profiler, says where that time goes. kubevend runs with signed checkpoints and a fail-closed
// file sink (as bench/lib/kubevend.ts starts it) and, in the same rounds, without them: their cost
// is the ratio of the two, on and off in alternating order so that drift of the machine falls on both.

interface Side {
  result: LoadResult;
  cpuMs: number;
  /** The server's resident memory once the measured requests are done. */
  rssMb: number;
}

async function measure(ctx: BenchContext, server: KubevendProcess, warmup: number, amount: number): Promise<Side> {
  const load = (tokensFile: string, n: number): LoadConfig => ({
    url: server.url, method: 'POST', paths: ['/v1/credentials'], body: '{}', headers: { 'content-type': 'application/json' },
    tokensFile, expectStatus: 201, connections: 10, warmup: 0, amount: n, maxSeconds: 120,
  });
  const warmTokens = await ctx.ci.mint(warmup);
  const tokens = await ctx.ci.mint(amount);
  await runLoad(ctx.dir, load(warmTokens, warmup));
  const before = await server.child.ask<Usage>('usage');
  const result = await runLoad(ctx.dir, load(tokens, amount));
  const after = await server.child.ask<Usage>('usage');
  const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
  return { result, cpuMs, rssMb: after.memory.rss / 1024 / 1024 };
}

export async function service(ctx: BenchContext) {
  const rounds = scale(ctx, 4, 2);
  const warmup = scale(ctx, 2000, 500);
  const amount = scale(ctx, 10_000, 2000);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-service');
  const sides = { kubevend: [] as Side[], withoutAudit: [] as Side[], bare: [] as Side[] };
  for (let round = 1; round <= rounds; round++) {
    log(`2. service-bound, round ${round}/${rounds}: ${amount} requests to the bare route, then to kubevend with the zero-latency gateway, with and without checkpoints and sink`);
    const bareServer = await startKubevend(ctx.built.bareJwt, { ISSUER: ctx.ci.issuer, PUBLIC_KEY_FILE: ctx.ci.publicKeyFile }, scratch(ctx, 'bare.log'), { ipc: true, nodeArgs: [] });
    try {
      sides.bare.push(await measure(ctx, bareServer, warmup, amount));
    } finally {
      await bareServer.child.stop();
    }
    for (const audit of round % 2 ? [true, false] : [false, true]) {
      const kubevend = await startKubevend(ctx.built.nullKube, {
        KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `service-${round}-${audit ? 'audit' : 'plain'}.db`)}`,
      }, scratch(ctx, 'service.log'), { ipc: true, audit });
      try {
        (audit ? sides.kubevend : sides.withoutAudit).push(await measure(ctx, kubevend, warmup, amount));
      } finally {
        await kubevend.child.stop();
      }
    }
  }
  log('2. service-bound: one more kubevend run, under the CPU profiler');
  const profileDir = scratch(ctx, 'service-profile');
  const profiled = await startKubevend(ctx.built.nullKube, {
    KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, 'service-profiled.db')}`,
  }, scratch(ctx, 'service.log'), { ipc: true, profileDir });
  try {
    await measure(ctx, profiled, warmup, amount);
  } finally {
    await profiled.child.stop();
  }
  const [profileFile] = await readdir(profileDir);
  const profile = await summariseProfile(join(profileDir, profileFile!), 12);
  const summary = (list: Side[]) => {
    const pooled = pool(list.map((s) => s.result));
    return { ...pooled, cpuMsPerRequest: list.reduce((a, s) => a + s.cpuMs, 0) / pooled.ok, rssMb: Math.max(...list.map((s) => s.rssMb)) };
  };
  const rate = (side: Side) => side.result.ok / (side.result.elapsedMs / 1000);
  const k = summary(sides.kubevend);
  const w = summary(sides.withoutAudit);
  const b = summary(sides.bare);
  const audit = {
    ratio: k.throughput / w.throughput,
    cpuRatio: k.cpuMsPerRequest / w.cpuMsPerRequest,
    byRound: sides.kubevend.map((on, i) => rate(on) / rate(sides.withoutAudit[i]!)),
  };
  return { connections: 10, rounds, amount, warmup, kubevend: k, withoutAudit: w, bare: b, ratio: k.throughput / b.throughput, audit, profile };
}

export type ServiceResult = Awaited<ReturnType<typeof service>>;
