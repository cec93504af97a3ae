import type { Kysely } from 'kysely';
import type { RateLimitStore } from './ports.ts';
import type { Database } from './schema.ts';
import type { Writes } from './write-batch.ts';

// Rate-limit windows: fixed windows aligned on the epoch, so that every replica counts into the same
// one. On PostgreSQL they are rows every replica shares; on SQLite, which serves one replica, they
// are counters in memory, which cost no write per request.

const windowOf = (perSeconds: number, now: number) => {
  const length = perSeconds * 1000;
  const start = Math.floor(now / length) * length;
  return { start, end: start + length };
};

export function createSharedRateWindows(db: Kysely<Database>, writes: Writes, now: () => number = Date.now): RateLimitStore {
  return {
    async take(key, { requests, per }) {
      const { start, end } = windowOf(per, now());
      // One statement, decided by the row's lock: a count past the limit is never written.
      const rows = await writes.statement((executor) =>
        executor
          .insertInto('rate_windows')
          .values({ key, window_start_ms: start, window_end_ms: end, count: 1 })
          .onConflict((oc) => oc.columns(['key', 'window_start_ms'])
            .doUpdateSet({ count: (eb) => eb('rate_windows.count', '+', 1) })
            .where('rate_windows.count', '<', requests))
          .returning('count')
          .execute());
      if (!rows.length) return { retryAfter: Math.max(1, Math.ceil((end - now()) / 1000)) };
      return {
        giveBack: async () => {
          await writes.statement((executor) => executor.updateTable('rate_windows').set((eb) => ({ count: eb('count', '-', 1) }))
            .where('key', '=', key).where('window_start_ms', '=', start).where('count', '>', 0).execute());
        },
      };
    },

    async prune(at) {
      const result = await writes.statement((executor) => executor.deleteFrom('rate_windows').where('window_end_ms', '<=', at.getTime()).executeTakeFirst());
      return Number(result.numDeletedRows);
    },
  };
}

export function createLocalRateWindows(now: () => number = Date.now): RateLimitStore {
  const counts = new Map<string, { start: number; count: number }>();
  return {
    async take(key, { requests, per }) {
      const { start, end } = windowOf(per, now());
      let window = counts.get(key);
      if (!window || window.start !== start) counts.set(key, (window = { start, count: 0 }));
      if (window.count >= requests) return { retryAfter: Math.max(1, Math.ceil((end - now()) / 1000)) };
      window.count++;
      const taken = window;
      return {
        giveBack: async () => {
          if (counts.get(key) === taken && taken.count > 0) taken.count--;
        },
      };
    },

    async prune(at) {
      let removed = 0;
      for (const [key, w] of counts) if (w.start < at.getTime() - 86_400_000) removed += Number(counts.delete(key));
      return removed;
    },
  };
}
