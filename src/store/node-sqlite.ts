import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type SqliteDatabase,
} from 'kysely';

// Kysely's SQLite dialect expects a better-sqlite3-shaped database; this is the thin adapter over
// Node's built-in `node:sqlite`, so that no native addon is needed.

/** How long a connection waits for another process's write lock before failing. */
export const sqliteBusyTimeoutMs = 5_000;

const maxCachedStatements = 256;

/** Opens `path` (or `:memory:`) in WAL mode with a busy timeout, shaped as kysely expects. */
export function openNodeSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path, { timeout: sqliteBusyTimeoutMs });
  // WAL lets readers go on while one writer writes; NORMAL is durable across process crashes.
  db.exec('pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on');
  // Kysely prepares every query it runs, and parsing and planning SQL costs more than running it:
  // statements are kept by their text. The query layer has few shapes; the bound is a safeguard.
  const statements = new Map<string, { statement: StatementSync; reader: boolean }>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let cached = statements.get(sql);
      if (!cached) {
        const statement = db.prepare(sql);
        // A statement that yields columns (a SELECT, or a write with RETURNING) is read with all().
        cached = { statement, reader: statement.columns().length > 0 };
        if (statements.size >= maxCachedStatements) statements.clear();
        statements.set(sql, cached);
      }
      const { statement, reader } = cached;
      const args = (parameters: readonly unknown[]) => parameters as SQLInputValue[];
      return {
        reader,
        all: (parameters) => statement.all(...args(parameters)),
        run: (parameters) => statement.run(...args(parameters)),
        iterate: (parameters) => statement.iterate(...args(parameters)) as IterableIterator<unknown>,
      };
    },
  };
}

/**
 * SQLite through `node:sqlite`, with every transaction `BEGIN IMMEDIATE`: the write lock is taken
 * up front (waiting up to the busy timeout), so two processes never deadlock upgrading a read
 * lock, and the audit chain's read-then-append is serialised across processes. Migrations run in
 * such a transaction too, so two processes opening a new file at once migrate it once.
 * `node:sqlite` waits synchronously: open one store per file per process (kysely serialises its
 * single connection), since a second one would block the event loop its own lock holder needs.
 */
export function nodeSqliteDialect(path: string): Dialect {
  const config = { database: async () => openNodeSqlite(path) };
  return {
    createDriver: () => new ImmediateSqliteDriver(config),
    createAdapter: () => new TransactionalSqliteAdapter(),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
