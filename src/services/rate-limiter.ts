import { Problem } from '../errors.ts';

/**
 * Fixed-window counters per key (a pipeline), held per replica; a window starts with its first
 * request. A request past the limit is refused with the seconds until its window ends.
 */
export function createRateLimiter(now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    /** Counts a request, or refuses it; the function returned gives it back (a request that turned out not to count). */
    take(key: string, limit: { requests: number; per: number }): () => void {
      const t = now();
      const length = limit.per * 1000;
      let window = windows.get(key);
      if (!window || t - window.start >= length) windows.set(key, (window = { start: t, count: 0 }));
      if (window.count >= limit.requests) {
        const retryAfter = Math.max(1, Math.ceil((window.start + length - t) / 1000));
        throw new Problem('rate_limited', `pipeline "${key}" may ask for ${limit.requests} credentials per ${limit.per} s`, { retryAfter });
      }
      window.count++;
      const taken = window;
      // A window that has ended since keeps nothing to give back.
      return () => {
        if (windows.get(key) === taken && taken.count > 0) taken.count--;
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
