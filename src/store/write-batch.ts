import { sql, type Kysely } from 'kysely';
import type { Engine } from './open.ts';
import type { Database } from './schema.ts';

// Group commit. On SQLite every commit writes each page it changed to the write-ahead log, and an
// issuance changes some twenty (three writes, each touching its table and every index). The writes
// that requests in flight ask for in the same turn of the event loop share one transaction: the
// pages they have in common (the newest leaf of each index, the chain head) are written once, and
// one commit stands for many. Each write is still all or nothing, and still told only once its
// transaction has committed.

/**
 * Database work that writes: it runs on `executor` and does nothing else, so that it can run again
 * from the start if the transaction it shared is rolled back.
 */
export type WriteWork<T> = (executor: Kysely<Database>) => Promise<T>;

export interface Writes {
  /** Runs `work`, one statement, and resolves once it is committed. */
  statement<T>(work: WriteWork<T>): Promise<T>;
  /** Runs `work`, several statements, all or none, and resolves once they are committed. */
  transaction<T>(work: WriteWork<T>): Promise<T>;
  /** Resolves when every write asked for so far has been answered. */
  drain(): Promise<void>;
}

/** Most writes one transaction takes; the rest wait for the next. */
export const maxBatch = 128;

export function writesFor(db: Kysely<Database>, engine: Engine): Writes {
  return engine === 'sqlite' ? groupCommit(db) : direct(db);
}

/**
 * PostgreSQL: each write on a pooled connection of its own, since the server runs them at once and
 * commits them together itself.
 */
function direct(db: Kysely<Database>): Writes {
  // Tracked so that closing waits for them: a pool that ends first would leave them unanswered.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(write: Promise<T>): Promise<T> => {
    inFlight.add(write);
    const forget = () => inFlight.delete(write);
    write.then(forget, forget);
    return write;
  };
  return {
    statement: (work) => track(work(db)),
    transaction: (work) => track(db.transaction().execute(work)),
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

interface Job {
  work: WriteWork<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * SQLite: the writes asked for before the event loop next checks for immediates run in one
 * `BEGIN IMMEDIATE` transaction, in the order asked. When one of them throws, the transaction is
 * rolled back, that write is refused with its error, and the others run again in a new transaction:
 * no write ever commits with, or is refused because of, another's failure. When the commit itself
 * fails, every write of the transaction is refused.
 */
function groupCommit(db: Kysely<Database>): Writes {
  const queue: Job[] = [];
  let flushing: Promise<void> | undefined;

  const schedule = () => {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush).finally(() => {
      flushing = undefined;
      if (queue.length > 0) schedule();
    });
  };

  async function flush(): Promise<void> {
    let jobs = queue.splice(0, maxBatch);
    while (jobs.length > 0) {
      const results: unknown[] = [];
      let failed: { job: Job; err: unknown } | undefined;
      try {
        await db.connection().execute(async (connection) => {
          await sql`begin immediate`.execute(connection);
          try {
            for (const job of jobs) {
              try {
                results.push(await job.work(connection));
              } catch (err) {
                failed = { job, err };
                throw err;
              }
            }
            await sql`commit`.execute(connection);
          } catch (err) {
            // SQLite may have rolled back already (an I/O error does): then there is nothing to undo.
            await sql`rollback`.execute(connection).catch(() => {});
            throw err;
          }
        });
      } catch (err) {
        if (!failed) {
          for (const job of jobs) job.reject(err);
          return;
        }
        failed.job.reject(failed.err);
        jobs = jobs.filter((job) => job !== failed!.job);
        continue;
      }
      jobs.forEach((job, i) => job.resolve(results[i]));
      return;
    }
  }

  const enqueue = <T>(work: WriteWork<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      schedule();
    });

  return {
    statement: enqueue,
    transaction: enqueue,
    async drain() {
      while (flushing) await flushing;
    },
  };
}
