import { Problem } from '../errors.ts';
import type { RateLimitStore } from '../store/ports.ts';

/**
 * Per-pipeline limits over the store's windows, so that on PostgreSQL every replica counts into the
 * same window and N replicas allow the policy's figure, not N times it. A request past the limit
 * is refused with the seconds until its window ends.
 */
export function createRateLimiter(windows: RateLimitStore, onGiveBackFailed: (err: unknown) => void = () => {}) {
  return {
    /** Counts a request, or refuses it; the function returned gives it back (a request that turned out not to count). */
    async take(key: string, limit: { requests: number; per: number }): Promise<() => void> {
      const taken = await windows.take(key, limit);
      if ('retryAfter' in taken) {
        throw new Problem('rate_limited', `pipeline "${key.split('#')[0]}" may ask for ${limit.requests} credentials per ${limit.per} s`, { retryAfter: taken.retryAfter });
      }
      return () => void taken.giveBack().catch(onGiveBackFailed);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
