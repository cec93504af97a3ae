import { Kysely, PostgresDialect, sql, type Dialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { createAuditLedger } from './audit-ledger.ts';
import { createIssuanceStore } from './issuance-store.ts';
import { migrationProvider } from './migrations.ts';
import { nodeSqliteDialect } from './node-sqlite.ts';
import type { Store } from './ports.ts';
import { createReplayGuard } from './replay-guard.ts';
import type { Database } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

/**
 * Opens the store a URL names and brings its schema up to date:
 * `sqlite:///path/to/file.db`, `sqlite::memory:` or `postgres://user@host:port/database`.
 */
export async function openStore(url: string): Promise<Store> {
  const { engine, dialect } = dialectFor(url);
  const db = new Kysely<Database>({ dialect });
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) throw error;
  } catch (err) {
    await db.destroy();
    throw new Error(`cannot bring the ${engine} store's schema up to date: ${(err as Error).message}`, { cause: err });
  }
  return {
    replay: createReplayGuard(db),
    audit: createAuditLedger(db, engine),
    issuances: createIssuanceStore(db),
    ping: async () => void (await sql`select 1`.execute(db)),
    close: () => db.destroy(),
  };
}

/** The engine and kysely dialect a database URL names (see openStore). */
export function dialectFor(url: string): { engine: Engine; dialect: Dialect } {
  if (url === 'sqlite::memory:') return { engine: 'sqlite', dialect: nodeSqliteDialect(':memory:') };
  if (url.startsWith('sqlite://') && url.length > 'sqlite://'.length) {
    return { engine: 'sqlite', dialect: nodeSqliteDialect(decodeURIComponent(url.slice('sqlite://'.length))) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10, types: postgresTypes() });
    // An idle connection that breaks (a server restart) is dropped by the pool; the next query
    // gets a fresh one and reports any failure itself. Unhandled, the event would end the process.
    pool.on('error', () => {});
    return { engine: 'postgres', dialect: new PostgresDialect({ pool }) };
  }
  // Only the scheme: the rest may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'none';
  throw new Error(`unsupported database URL (scheme ${scheme}): use sqlite:///path/to/file.db, sqlite::memory: or postgres://…`);
}

// bigint columns (ids and millisecond times) come back as numbers; they stay far below 2^53.
function postgresTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, Number);
  return types;
}
