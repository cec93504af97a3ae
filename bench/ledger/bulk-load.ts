// Grows a ledger to COUNT records by raw SQL, batch by batch, each batch one transaction that also
// moves the chain head, so the hash chain stays valid (the store's own hash and row mapping):
//   node bench/ledger/bulk-load.ts DATABASE_URL COUNT DEADLINE_MS [verify]
// Stops early at DEADLINE_MS (epoch). Prints what it reached, the page query's plan and its latency
// through the bare driver and, with `verify`, the store's own chain verification, as JSON.
import { Kysely, PostgresDialect } from 'kysely';
import { execFileSync } from 'node:child_process';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import pg from 'pg';
import { nodeSqliteDialect } from '../../src/store/node-sqlite.ts';
import { selectAudit } from '../../src/store/audit-rows.ts';
import { openStore, queryByCallback } from '../../src/store/open.ts';
import type { AuditRecordsTable, Database } from '../../src/store/schema.ts';
import { summarise } from '../lib/stats.ts';
import { ledgerRow, pipelines } from './records.ts';

const [url, countArg, deadlineArg, verifyArg] = process.argv.slice(2);
const target = Number(countArg);
const deadline = Number(deadlineArg);
const batchSize = 5000;
const sqlitePath = url!.startsWith('sqlite://') ? url!.slice('sqlite://'.length) : undefined;

interface Raw {
  head(): Promise<{ last_id: number; head_hash: string }>;
  insert(rows: AuditRecordsTable[]): Promise<void>;
  explain(sql: string, parameters: readonly unknown[]): Promise<string[]>;
  /** Runs a query; how many rows it returned. */
  query(sql: string, parameters: readonly unknown[]): Promise<number>;
  /** After the load: what the database would otherwise still be doing about it while we measure. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

function sqlite(path: string): Raw {
  const db = new DatabaseSync(path, { timeout: 5000 });
  const statements: Record<string, ReturnType<DatabaseSync['prepare']>> = {};
  let insert: ReturnType<DatabaseSync['prepare']> | undefined;
  return {
    head: async () => db.prepare('select last_id, head_hash from audit_chain where id = 1').get() as { last_id: number; head_hash: string },
    async insert(rows) {
      const columns = Object.keys(rows[0]!);
      insert ??= db.prepare(`insert into audit_records (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      db.exec('begin immediate');
      for (const row of rows) insert.run(...(Object.values(row) as SQLInputValue[]));
      const last = rows.at(-1)!;
      db.prepare('update audit_chain set last_id = ?, head_hash = ? where id = 1').run(last.id, last.hash);
      db.exec('commit');
    },
    explain: async (sql, parameters) =>
      (db.prepare(`explain query plan ${sql}`).all(...(parameters as SQLInputValue[])) as { detail: string }[]).map((r) => r.detail),
    query: async (sql, parameters) => {
      // Prepared once and reused, as the store does.
      const statement = (statements[sql] ??= db.prepare(sql));
      return statement.all(...(parameters as SQLInputValue[])).length;
    },
    settle: async () => {},
    close: async () => db.close(),
  };
}

const pgTypes: Partial<Record<keyof AuditRecordsTable, string>> = { id: 'bigint', time_ms: 'bigint', requested_ttl_seconds: 'integer', actual_ttl_seconds: 'integer' };

async function postgres(connectionString: string): Promise<Raw> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return {
    head: async () => {
      const row = (await client.query('select last_id, head_hash from audit_chain where id = 1')).rows[0];
      return { last_id: Number(row.last_id), head_hash: row.head_hash };
    },
    async insert(rows) {
      // One statement a batch: each column travels as one array parameter.
      const columns = Object.keys(rows[0]!) as (keyof AuditRecordsTable)[];
      const arrays = columns.map((c) => rows.map((r) => r[c]));
      const unnest = columns.map((c, i) => `$${i + 1}::${pgTypes[c] ?? 'text'}[]`).join(', ');
      const last = rows.at(-1)!;
      await client.query('begin');
      await client.query(`insert into audit_records (${columns.join(', ')}) select * from unnest(${unnest})`, arrays);
      await client.query('update audit_chain set last_id = $1, head_hash = $2 where id = 1', [last.id, last.hash]);
      await client.query('commit');
    },
    explain: async (sql, parameters) =>
      (await client.query(`explain (analyze, buffers) ${sql}`, parameters as unknown[])).rows.map((r) => r['QUERY PLAN'] as string),
    // As the store sends it: through the callback API (the promise API's queries load the young generation).
    query: async (sql, parameters) => (await queryByCallback(client, sql, parameters)).rowCount ?? 0,
    // The load sets off an autovacuum (inserts past its threshold) and leaves a checkpoint's worth of
    // dirty buffers; a ledger that grows by appends never has either at once. Both done now, they do
    // not land in the measurement. Nor does the kernel's writeback of what the checkpoint wrote: the
    // bench's PostgreSQL runs without fsync, so that waits in the page cache (hundreds of MB at a
    // million records) until it is flushed here.
    settle: async () => {
      await client.query('vacuum analyze audit_records');
      await client.query('checkpoint');
      const { data_directory: dataDirectory } = (await client.query('show data_directory')).rows[0] as { data_directory: string };
      execFileSync('sync', ['-f', dataDirectory]);
    },
    close: () => client.end(),
  };
}

// The schema first, by the store's own migrations.
await (await openStore(url!)).close();
const raw = sqlitePath ? sqlite(decodeURIComponent(sqlitePath)) : await postgres(url!);
const started = performance.now();
let { last_id: count, head_hash: head } = await raw.head();
count = Number(count);
const from = count;
while (count < target && Date.now() < deadline) {
  const rows: AuditRecordsTable[] = [];
  for (let id = count + 1; id <= Math.min(target, count + batchSize); id++) {
    const row = ledgerRow(id, head);
    rows.push(row);
    head = row.hash;
  }
  await raw.insert(rows);
  count = rows.at(-1)!.id;
}
const loadMs = performance.now() - started;
// After a bulk load, what the database would do about it in its own time (PostgreSQL: vacuum, statistics, checkpoint).
await raw.settle();

// The page query exactly as the store sends it, compiled by kysely for this engine.
const compiler = new Kysely<Database>({
  dialect: sqlitePath ? nodeSqliteDialect(':memory:') : new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
});
const pageQuery = (before?: number) => selectAudit(compiler, { pipeline: pipelines[0]! })
  .$if(before !== undefined, (q) => q.where('id', '<', before!))
  .orderBy('id', 'desc').limit(101).compile();
const first = pageQuery();
const deep = pageQuery(Math.floor(count / 2));
const plans = { sql: first.sql, firstPage: await raw.explain(first.sql, first.parameters), deepPage: await raw.explain(deep.sql, deep.parameters) };
// The page query alone, through the driver, one at a time: what the database itself takes.
const samples: number[] = [];
for (let i = 0; i < 1200; i++) {
  const parameters = first.parameters.map((p) => (p === pipelines[0] ? pipelines[i % pipelines.length] : p));
  const t = performance.now();
  await raw.query(first.sql, parameters);
  if (i >= 200) samples.push(performance.now() - t);
}
const query = summarise(samples);
await compiler.destroy();
await raw.close();

let verification: { ok: boolean; count: number; ms: number } | undefined;
if (verifyArg === 'verify') {
  const store = await openStore(url!);
  const t = performance.now();
  const result = await store.audit.verify();
  verification = { ok: result.ok, count: result.count, ms: performance.now() - t };
  await store.close();
}
process.stdout.write(`${JSON.stringify({ count, added: count - from, loadMs, plans, query, verification })}\n`);
