import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException } from '@kubernetes/client-node';
import { Problem } from '../errors.ts';

/** Attempts one call makes at most while its API server answers that it is throttling. */
const MAX_ATTEMPTS = 5;
/** The longest a retry waits, whatever Retry-After says: a call's deadline is 15 s in all. */
const MAX_RETRY_WAIT_S = 4;

/**
 * A cluster's share of kubevend's calls at its API server: at most `limit` at once; the others wait
 * in the order they came, each no longer than its own call's deadline (its signal). Written here
 * rather than taken from p-limit or p-queue: p-limit cannot drop a waiting call at its deadline, and
 * p-queue frees an aborted task's slot while its request may still be at the API server.
 */
export class CallSlots {
  readonly limit: number;
  #running = 0;
  /** Waiting calls, oldest first (a Set keeps insertion order and lets a call that gave up leave). */
  readonly #waiting = new Set<() => void>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Calls holding a slot now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Runs `attempt` in a slot. The slot is given back when the attempt ends, or when `signal` aborts
   * (its request is destroyed with it, so it no longer counts at the API server either).
   */
  async run<T>(signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
    await this.#acquire(signal);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      signal.removeEventListener('abort', release);
      const next = this.#waiting.values().next();
      // Handed straight to the oldest waiting call, so that no newcomer overtakes it.
      if (next.done) this.#running--;
      else {
        this.#waiting.delete(next.value);
        next.value();
      }
    };
    signal.addEventListener('abort', release, { once: true });
    try {
      return await attempt();
    } finally {
      release();
    }
  }

  #acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.#running < this.limit && this.#waiting.size === 0) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        signal.removeEventListener('abort', gaveUp);
        resolve();
      };
      const gaveUp = () => {
        this.#waiting.delete(granted);
        reject(signal.reason);
      };
      this.#waiting.add(granted);
      signal.addEventListener('abort', gaveUp, { once: true });
    });
  }
}

/**
 * Runs a call in a slot, and again when the API server answers that it is throttling (429, or 503
 * with Retry-After: API Priority and Fairness turns the request away before acting on it, so every
 * verb kubevend uses may be sent again). Each retry waits at least what Retry-After asks (capped),
 * plus up to half again at random so that calls turned away together do not return together; none
 * waits past `deadline` (a `performance.now()` time). `onRetry` hears of each throttled answer that
 * is retried. When the attempts or the time run out, the caller gets `cluster_throttled`.
 */
export async function withThrottleRetries<T>(
  slots: CallSlots,
  signal: AbortSignal,
  deadline: number,
  attempt: () => Promise<T>,
  onRetry: (attemptSeconds: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    const started = performance.now();
    let throttled: { status: number; retryAfter: number | undefined; err: ApiException<unknown> };
    try {
      return await slots.run(signal, attempt);
    } catch (err) {
      const answer = throttledAnswer(err);
      if (!answer) throw err;
      throttled = { ...answer, err: err as ApiException<unknown> };
    }
    const base = Math.min(throttled.retryAfter ?? 0.25 * 2 ** (n - 1), MAX_RETRY_WAIT_S);
    const waitMs = base * 1000 * (1 + Math.random() / 2);
    if (n >= MAX_ATTEMPTS || performance.now() + waitMs >= deadline) {
      throw new Problem('cluster_throttled', `the API server answered ${throttled.status} (throttled) to ${n} attempt${n > 1 ? 's' : ''}`, {
        cause: throttled.err,
        retryAfter: Math.max(1, Math.ceil(throttled.retryAfter ?? 1)),
      });
    }
    onRetry((performance.now() - started) / 1000);
    await sleep(waitMs, undefined, { signal });
  }
}

/** The status and Retry-After seconds of an answer that says the API server is throttling, if it is one. */
export function throttledAnswer(err: unknown): { status: number; retryAfter: number | undefined } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const headers = (err.headers ?? {}) as Record<string, string | undefined>;
  const retryAfter = parseRetryAfter(headers['retry-after'] ?? headers['Retry-After']);
  if (err.code === 429 || (err.code === 503 && retryAfter !== undefined)) return { status: err.code, retryAfter };
  return undefined;
}

/** Retry-After in seconds: delay-seconds, or an HTTP date (RFC 9110 section 10.2.3). */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}
