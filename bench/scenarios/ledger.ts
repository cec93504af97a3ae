import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { log, scale, scratch, type BenchContext } from '../lib/context.ts';
import { startKubevend, writePolicy } from '../lib/kubevend.ts';
import { runLoad } from '../lib/load.ts';
import { runNodeJson } from '../lib/process.ts';
import { pool, type Latency } from '../lib/stats.ts';
import { operatorClaims } from '../lib/ci-tokens.ts';
import { pipelines } from '../ledger/records.ts';

// 3. The audit ledger: GET /v1/audit, a first page of 100 records filtered by pipeline (ten
// pipelines, taken in turn), by an auditor, through src/server.ts, as the ledger grows, on both
// engines: one request at a time (an operator paging), then four at a time.

const loader = join(import.meta.dirname, '..', 'ledger', 'bulk-load.ts');

interface Loaded {
  count: number;
  added: number;
  loadMs: number;
  plans: { sql: string; firstPage: string[]; deepPage: string[] };
  /** The page query alone through the driver, one at a time. */
  query: Latency;
  verification?: { ok: boolean; count: number; ms: number };
}

export interface PageLoad {
  connections: number;
  throughput: number;
  latency: Latency;
  failures: Record<string, number>;
}

export interface LedgerStep {
  target: number;
  records: number;
  loadMs: number;
  /** One operator paging (the target's measure), then several at once. */
  loads: PageLoad[];
  verification?: Loaded['verification'];
  plans: Loaded['plans'];
  query: Latency;
}

async function postgresDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function ledger(ctx: BenchContext) {
  // BENCH_LEDGER_SIZES=1000,1000000 and BENCH_LEDGER_ENGINES=postgres: some sizes or engines only.
  const sizes = process.env.BENCH_LEDGER_SIZES?.split(',').map(Number) ?? (ctx.quick ? [1000, 100_000] : [1000, 100_000, 1_000_000]);
  const only = process.env.BENCH_LEDGER_ENGINES?.split(',');
  const amount = scale(ctx, 2000, 500);
  // Past the point where V8 optimises the request path (npm start tiers a function up after 300
  // calls): with 200, that compilation fell inside the measured requests of every server, and the
  // one-at-a-time p99 measured it once rather than the paging (BENCHMARKS.md).
  const warmup = scale(ctx, 1000, 200);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, 'bench-ledger');
  const bearer = await ctx.ci.one(operatorClaims);
  const fingerprintKeyFile = scratch(ctx, 'fingerprint.key');
  await writeFile(fingerprintKeyFile, randomBytes(32), { mode: 0o600 });
  const engines = Object.fromEntries(Object.entries({
    sqlite: async () => `sqlite://${scratch(ctx, 'ledger.db')}`,
    postgres: () => postgresDatabase(ctx.databaseUrl, 'bench_ledger'),
  }).filter(([engine]) => !only || only.includes(engine)));
  const results: Record<string, LedgerStep[]> = {};
  for (const [engine, database] of Object.entries(engines)) {
    const url = await database();
    results[engine] = [];
    for (const target of sizes) {
      // The largest ledger may not load in time on a slow machine: each step gets what is left of
      // the engine's share of the run, and measures what it reached.
      const deadline = Math.min(ctx.deadline, Date.now() + scale(ctx, 6, 2) * 60_000);
      log(`3. ledger on ${engine}: loading to ${target} records`);
      const loaded = await runNodeJson<Loaded>(loader, [url, `${target}`, `${deadline}`, ...(target === sizes[0] ? ['verify'] : [])],
        { timeoutMs: deadline - Date.now() + 5 * 60_000 });
      const kubevend = await startKubevend(ctx.built.server, {
        KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: url, KUBEVEND_FINGERPRINT_KEY_FILE: fingerprintKeyFile,
      }, scratch(ctx, `ledger-${engine}.log`));
      try {
        const loads: PageLoad[] = [];
        for (const connections of [1, 4]) {
          const result = await runLoad(ctx.dir, {
            url: kubevend.url, method: 'GET', paths: pipelines.map((p) => `/v1/audit?pipeline=${p}&limit=100`),
            bearer, expectStatus: 200, connections, warmup, amount, maxSeconds: 120,
          });
          const { throughput, latency, failures } = pool([result]);
          loads.push({ connections, throughput, latency, failures });
          log(`3. ledger on ${engine} at ${loaded.count} records, ${connections} at a time: p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms`);
        }
        results[engine].push({
          target, records: loaded.count, loadMs: loaded.loadMs, loads, plans: loaded.plans, query: loaded.query,
          ...(loaded.verification ? { verification: loaded.verification } : {}),
        });
      } finally {
        await kubevend.child.stop();
      }
    }
  }
  return { sizes, amount, warmup, engines: results };
}

export type LedgerResult = Awaited<ReturnType<typeof ledger>>;
