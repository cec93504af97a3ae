import type { Store } from '../store/ports.ts';
import type { ServiceLogger } from './ports.ts';

export interface LeaseKeeperOptions {
  store: Store;
  replica: string;
  logger?: ServiceLogger;
  /** How long a renewal lasts: a replica silent this long is taken for dead. */
  ttlMs?: number;
  /** How often it is renewed, and `onTick` run. */
  everyMs?: number;
  /** Run after each renewal: the reaper's healing of what dead replicas left. */
  onTick?: () => Promise<unknown>;
}

/**
 * Keeps this replica's lease in the store while it runs, so that the others know its pending
 * issuances are being finished; when it dies, its lease lapses within `ttlMs` and another replica's
 * reaper finishes them.
 */
export async function keepLease({ store, replica, logger, ttlMs = 10_000, everyMs = 3_000, onTick }: LeaseKeeperOptions) {
  let failing = false;
  const renew = async () => {
    try {
      await store.leases.renew(replica, new Date(Date.now() + ttlMs));
      if (failing) logger?.info({ replica }, 'replica lease renewed again');
      failing = false;
    } catch (err) {
      // Logged once an outage: the store's own failures are logged where they happen.
      if (!failing) logger?.warn({ replica, err: (err as Error).message }, 'replica lease could not be renewed');
      failing = true;
    }
  };
  // Renewal and healing keep time apart: healing can wait on an API server that does not answer,
  // and a renewal that waited behind it would let this live replica's lease lapse.
  const every = (work: () => Promise<unknown>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void work().finally(() => (running = false));
    }, everyMs);
    timer.unref();
    return { timer, idle: async () => { while (running) await new Promise((resolve) => setTimeout(resolve, 10)); } };
  };
  await renew();
  const renewing = every(renew);
  const healing = every(async () => {
    await onTick?.().catch((err: unknown) => logger?.warn({ err: (err as Error).message }, 'healing abandoned issuances failed'));
  });
  return {
    /** Stops renewing and ends the lease at once: what is still pending is the others' to finish. */
    async stop(): Promise<void> {
      clearInterval(renewing.timer);
      clearInterval(healing.timer);
      await renewing.idle();
      await store.leases.drop(replica).catch(() => {
        // The lease lapses by itself within its time.
      });
    },
  };
}
