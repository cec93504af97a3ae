import { Kysely, PostgresDialect, sql, type Dialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { createCheckpointStore } from './audit-checkpoints.ts';
import { createAuditLedger } from './audit-ledger.ts';
import { backstopPages, defaultAutocheckpointPages, startCheckpointer, type Checkpointer } from './checkpointer.ts';
import { markFailures } from './failure.ts';
import { createIssuanceStore } from './issuance-store.ts';
import { migrationProvider } from './migrations.ts';
import { nodeSqliteDialect, sqliteBusyTimeoutMs } from './node-sqlite.ts';
import type { Store } from './ports.ts';
import { createGrantStore } from './grants.ts';
import { createLeaseStore } from './leases.ts';
import { createLocalRateWindows, createSharedRateWindows } from './rate-windows.ts';
import { createReplayGuard } from './replay-guard.ts';
import { createSuspensionStore } from './suspensions.ts';
import type { Database } from './schema.ts';
import { writesFor } from './write-batch.ts';

export type Engine = 'sqlite' | 'postgres';

export interface StoreOptions {
  /** Where a lost database connection is reported; by default, warnings on stderr. */
  logger?: Pick<Logger, 'warn'>;
}

/** How long a checkout waits for a PostgreSQL connection before the store call fails (503). */
export const postgresConnectTimeoutMs = 5_000;

/**
 * Opens the store a URL names and brings its schema up to date:
 * `sqlite:///path/to/file.db`, `sqlite::memory:` or `postgres://user@host:port/database`.
 */
export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const { engine, dialect, sqliteFile } = dialectFor(url, options);
  const db = new Kysely<Database>({ dialect });
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) throw error;
  } catch (err) {
    await db.destroy();
    throw new Error(`cannot bring the ${engine} store's schema up to date: ${(err as Error).message}`, { cause: err });
  }
  const writes = writesFor(db, engine);
  const ledger = createAuditLedger(db, engine, writes);
  const checkpointer = sqliteFile === undefined ? undefined : await checkpointApart(db, sqliteFile);
  return {
    replay: markFailures(createReplayGuard(db, writes)),
    audit: markFailures(ledger),
    checkpoints: markFailures(createCheckpointStore(db, writes)),
    issuances: markFailures(createIssuanceStore(db, writes)),
    suspensions: markFailures(createSuspensionStore(db, ledger)),
    grants: markFailures(createGrantStore(db, ledger)),
    // One replica on SQLite: its counts need not leave memory.
    rateLimits: markFailures(engine === 'postgres' ? createSharedRateWindows(db, writes) : createLocalRateWindows()),
    leases: markFailures(createLeaseStore(writes)),
    ping: async () => void (await sql`select 1`.execute(db)),
    close: async () => {
      await writes.drain();
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/**
 * SQLite's checkpoints on a thread of their own (see checkpointer.ts); commits checkpoint only past
 * the backstop, and as SQLite does by default again if the thread ends.
 */
async function checkpointApart(db: Kysely<Database>, file: string): Promise<Checkpointer> {
  // The backstop first: a thread that ends at once then still leaves SQLite's default in force.
  await sql.raw(`pragma wal_autocheckpoint = ${backstopPages}`).execute(db);
  return startCheckpointer(file, {
    busyTimeoutMs: sqliteBusyTimeoutMs,
    onExit: () => void sql.raw(`pragma wal_autocheckpoint = ${defaultAutocheckpointPages}`).execute(db).catch(() => {}),
  });
}

/** The engine and kysely dialect a database URL names (see openStore), and the SQLite file if any. */
export function dialectFor(url: string, options: StoreOptions = {}): { engine: Engine; dialect: Dialect; sqliteFile?: string } {
  if (url === 'sqlite::memory:') return { engine: 'sqlite', dialect: nodeSqliteDialect(':memory:') };
  if (url.startsWith('sqlite://') && url.length > 'sqlite://'.length) {
    const file = decodeURIComponent(url.slice('sqlite://'.length));
    return { engine: 'sqlite', dialect: nodeSqliteDialect(file), sqliteFile: file };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = postgresPool(url, options.logger ?? pino({ level: 'warn' }, pino.destination(2)));
    return { engine: 'postgres', dialect: new PostgresDialect({ pool: withCallbackQueries(pool) }) };
  }
  // Only the scheme: the rest may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'none';
  throw new Error(`unsupported database URL (scheme ${scheme}): use sqlite:///path/to/file.db, sqlite::memory: or postgres://…`);
}

/**
 * The pool behind a postgres:// store, which outlives the server's restarts. A connection the server
 * ends (a restart, a failover) fails the query in flight on it, which the store answers 503; the
 * client is then not queryable, the pool discards it when it comes back, and the next checkout
 * connects anew, so service resumes by itself once the server is back.
 */
function postgresPool(url: string, logger: Pick<Logger, 'warn'>): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url, max: 10, types: postgresTypes(),
    // A server that is down or unreachable fails the request within this, instead of holding it.
    connectionTimeoutMillis: postgresConnectTimeoutMs,
    // A server gone without closing its connections (a failover, a cut network) is noticed by the OS.
    keepAlive: true,
  });
  // node-postgres reports a broken connection as an 'error' event on its client: on the pool while
  // the client is idle there, and on the client alone while it is checked out (inside a
  // transaction, or before its failed query is answered). An 'error' event nobody listens to ends
  // the process, so every client is listened to for its whole life. The message and the code only:
  // the error's client holds the connection string, and with it any password.
  const reported = new WeakSet<pg.Client>();
  pool.on('connect', (client) => client.on('error', (err: Error & { code?: string }) => {
    // The same loss arrives up to twice: the server's notice, then the closed socket.
    if (reported.has(client)) return;
    reported.add(client);
    logger.warn({ code: err.code, reason: err.message }, 'a pooled database connection was lost; the next query opens a new one');
  }));
  // Already reported by the client's own listener above, which runs first.
  pool.on('error', () => {});
  return pool;
}

// bigint columns (ids and millisecond times) come back as numbers; they stay far below 2^53.
function postgresTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, Number);
  return types;
}

/**
 * The pool as kysely uses it, but each query goes through node-postgres's callback API. Its promise
 * API creates the query object first and sets its callback afterwards; in V8 that order keeps much
 * of what every query allocated (its rows and their strings) alive through young-generation
 * collections until the next full one, so that the young generation grows to 64 MB and each
 * collection stops the server for tens of milliseconds (20 to 70 % survives, where a callback given
 * with the query leaves under 1 %). A promise of our own around the callback API does not.
 */
function withCallbackQueries(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    // A query can fail because its connection ended before pg has marked the client broken (the
    // closed socket comes after the server's notice); such a client goes, rather than back to the pool.
    let ended = false;
    const query = (text: string, parameters: readonly unknown[]) => queryByCallback(client, text, parameters).catch((err: unknown) => {
      ended ||= endsConnection(err);
      throw err;
    });
    return {
      // kysely reads processID only to cancel a query, and passes cursors only when configured with one.
      get processID() {
        return (client as pg.PoolClient & { processID?: number }).processID;
      },
      query: query as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy || ended),
    };
  };
  return {
    options: pool.options,
    connect: async () => {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (!wrapped) clients.set(client, (wrapped = wrap(client)));
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/**
 * Whether a failed query leaves its connection unusable: a failure of the connection itself (not an
 * answer of the server's), or the server ending the session (severity FATAL or PANIC, as a restart's
 * "terminating connection due to administrator command" is).
 */
function endsConnection(err: unknown): boolean {
  return !(err instanceof pg.DatabaseError) || err.severity === 'FATAL' || err.severity === 'PANIC';
}

/** One query through node-postgres's callback API, as a promise: see withCallbackQueries. */
export function queryByCallback(client: pg.ClientBase, text: string, parameters: readonly unknown[]): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    client.query(text, parameters as unknown[], (err, result) => (err ? reject(err) : resolve(result)));
  });
}
