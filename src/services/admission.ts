import { Problem } from '../errors.ts';

// Admission by fair queuing, in the spirit of the API server's Priority and Fairness: issuances
// run a bounded number at once; the rest wait in a queue per pipeline, and a freed slot goes to the
// next pipeline in turn, so one pipeline's flood cannot starve another. A request is refused only
// when its queue is full or its wait would pass the deadline, with a Retry-After from the queue.
// Written here because no package of this ecosystem queues per key with round-robin dispatch and a
// wait estimate; p-limit and p-queue keep one queue.

export interface AdmissionOptions {
  /** Issuances that run at once. */
  concurrency?: number;
  /** Requests one pipeline may have waiting. */
  queueLength?: number;
  /** Longest a request waits for a slot. */
  maxWaitMs?: number;
}

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export function createAdmission({ concurrency = 64, queueLength = 1000, maxWaitMs = 30_000 }: AdmissionOptions = {}) {
  let running = 0;
  let waiting = 0;
  /** Queues in turn order: a pipeline joins at the end and leaves when its queue empties. */
  const queues = new Map<string, Waiter[]>();
  let lastServed: string | undefined;
  /** Average time a slot is held, to estimate a wait (exponentially weighted). */
  let slotMs = 100;

  /**
   * How long a new request of `key` would wait: served in turn, it goes after its own queue, and
   * each of its queue's turns comes once every pipeline with waiters has had one; never more than
   * everything waiting.
   */
  const estimateMs = (key: string) => {
    const own = (queues.get(key)?.length ?? 0) + 1;
    const turns = queues.size + (queues.has(key) ? 0 : 1);
    const ahead = Math.min(waiting + 1, own * turns);
    return Math.ceil(ahead / concurrency) * slotMs;
  };
  const refuse = (detail: string, waitMs: number) =>
    new Problem('overloaded', detail, { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) });

  function nextKey(): string | undefined {
    const keys = [...queues.keys()];
    if (!keys.length) return undefined;
    const after = lastServed === undefined ? -1 : keys.indexOf(lastServed);
    // A key that left the map since it was served: start from the first.
    return keys[(after + 1) % keys.length];
  }

  function dispatch(): void {
    while (running < concurrency && waiting > 0) {
      const key = nextKey()!;
      const queue = queues.get(key)!;
      const waiter = queue.shift()!;
      if (!queue.length) queues.delete(key);
      lastServed = key;
      waiting--;
      clearTimeout(waiter.timer);
      waiter.admit();
    }
  }

  function slot(): () => void {
    running++;
    const started = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      running--;
      slotMs = slotMs * 0.9 + (Date.now() - started) * 0.1;
      dispatch();
    };
  }

  return {
    /** Waits for a slot for `key` (a pipeline); resolves to the function that gives it back. */
    enter(key: string): Promise<() => void> {
      if (running < concurrency && waiting === 0) return Promise.resolve(slot());
      const queue = queues.get(key) ?? [];
      if (queue.length >= queueLength) {
        return Promise.reject(refuse(`${queueLength} requests of pipeline "${key}" are waiting already`, estimateMs(key)));
      }
      const estimate = estimateMs(key);
      if (estimate > maxWaitMs) return Promise.reject(refuse(`the wait for a slot would pass ${maxWaitMs / 1000} s`, estimate));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          admit: () => resolve(slot()),
          timer: setTimeout(() => {
            const at = queue.indexOf(waiter);
            if (at < 0) return;
            queue.splice(at, 1);
            if (!queue.length && queues.get(key) === queue) queues.delete(key);
            waiting--;
            reject(refuse(`no slot came within ${maxWaitMs / 1000} s`, estimateMs(key)));
          }, maxWaitMs),
        };
        queue.push(waiter);
        if (!queues.has(key)) queues.set(key, queue);
        waiting++;
      });
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
