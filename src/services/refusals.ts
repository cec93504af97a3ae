import { Problem } from '../errors.ts';
import type { Store } from '../store/ports.ts';
import type { ServiceLogger } from './ports.ts';

// Refusals nobody is accountable for (a token that does not verify, an identity no pipeline fits,
// a spent token, a request past a limit) cost the caller nothing, so they must cost the ledger
// little: they are counted per client address and window, and written as one chained record per
// address and window, not one each.

export interface RefusalTallyOptions {
  store: Store;
  logger?: ServiceLogger;
  /** Length of a window; default a minute. */
  windowMs?: number;
  /** Addresses with a record of their own per window; the rest share one. Default 100. */
  maxSources?: number;
}

/** The address under which the addresses past `maxSources` are counted together. */
export const OTHER_SOURCES = 'other';

export function createRefusalTally({ store, logger, windowMs = 60_000, maxSources = 100 }: RefusalTallyOptions) {
  let counts = new Map<string, Map<string, number>>();
  let windowStart = new Date();
  let flushing: Promise<void> = Promise.resolve();

  async function write(window: Map<string, Map<string, number>>, from: Date, to: Date): Promise<void> {
    for (const [source, codes] of window) {
      const total = [...codes.values()].reduce((a, b) => a + b, 0);
      const byCode = [...codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
      try {
        await store.audit.append({
          kind: 'refusals', outcome: 'denied', time: to, reasonCode: 'refusals_counted',
          reason: `${total} refused from ${from.toISOString()} to ${to.toISOString()}: ${byCode}`,
          clientAddress: source,
        });
      } catch (err) {
        // The counts stay in the metrics; a store that cannot write them now gets the next window's.
        logger?.warn({ err: (err as Error).message, source, total }, 'refusal counts could not be written to the ledger');
      }
    }
  }

  function flush(): Promise<void> {
    const window = counts;
    const from = windowStart;
    counts = new Map();
    windowStart = new Date();
    if (window.size) flushing = flushing.then(() => write(window, from, windowStart));
    return flushing;
  }

  const timer = setInterval(() => void flush(), windowMs);
  timer.unref();

  return {
    /** Counts one refusal of a request from `source`. */
    count(source: string, problem: Problem): void {
      const key = counts.has(source) || counts.size < maxSources ? source : OTHER_SOURCES;
      let codes = counts.get(key);
      if (!codes) counts.set(key, (codes = new Map()));
      codes.set(problem.code, (codes.get(problem.code) ?? 0) + 1);
    },
    /** Writes what was counted so far; for shutdown and tests. */
    flush,
    close(): Promise<void> {
      clearInterval(timer);
      return flush();
    },
  };
}

export type RefusalTally = ReturnType<typeof createRefusalTally>;

export interface AuthFailureLimitOptions {
  /** Failed authentications an address may have in a burst. */
  burst?: number;
  /** Failures an address earns back per minute. */
  perMinute?: number;
  /** Addresses remembered at once; the oldest is forgotten past it. */
  maxSources?: number;
  /** No limit at all (KUBEVEND_AUTH_FAILURES_PER_MINUTE=0). */
  off?: boolean;
  now?: () => number;
}

/**
 * A token bucket per client address of failed authentications, asked before any signature work:
 * an address that keeps sending tokens that do not verify is refused at once for a while, valid
 * tokens included (telling them apart is the signature work this saves). Valid tokens do not spend
 * the budget, but callers that share an address (a proxy kubevend does not trust) share it.
 */
export function createAuthFailureLimit({ burst = 60, perMinute = 60, maxSources = 10_000, off = false, now = Date.now }: AuthFailureLimitOptions = {}) {
  if (off) return { check: () => {}, fail: () => {} };
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 60_000) * perMinute);
    b.at = t;
  };
  return {
    /** Throws 429 when the address has no failures left. */
    check(source: string): void {
      const b = buckets.get(source);
      if (!b) return;
      refill(b, now());
      if (b.tokens < 1) {
        const retryAfter = Math.max(1, Math.ceil(((1 - b.tokens) / perMinute) * 60));
        throw new Problem('rate_limited', 'too many failed authentications from this address; retry later', { retryAfter });
      }
    },
    /** Spends one of the address's failures. */
    fail(source: string): void {
      const t = now();
      let b = buckets.get(source);
      if (b) {
        buckets.delete(source);
        refill(b, t);
      } else {
        if (buckets.size >= maxSources) buckets.delete(buckets.keys().next().value!);
        b = { tokens: burst, at: t };
      }
      b.tokens -= 1;
      // Re-inserted, so that the map's order is the order of last failure, oldest first.
      buckets.set(source, b);
    },
  };
}

export type AuthFailureLimit = ReturnType<typeof createAuthFailureLimit>;
