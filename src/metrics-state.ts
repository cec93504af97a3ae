import { Gauge, type Registry } from 'prom-client';
import type { Store } from './store/ports.ts';

export interface ObservedState {
  store: Pick<Store, 'issuances'>;
  /** Whether each cluster's API server answered its last readiness check; absent until checked. */
  clusters: () => Record<string, boolean>;
}

/** How long a scrape waits for the store before it says the store is down. */
const STORE_TIMEOUT_MS = 2000;

/**
 * Gauges read at scrape time rather than kept current: the live credentials are counted in the
 * store, so that every replica on PostgreSQL reports the same true figure, whichever replica
 * issued, revoked or reaped them. The count doubles as a probe of the store.
 */
export function observeState(registers: Registry[], state: ObservedState): void {
  let pending: Promise<{ pipeline: string; cluster: string; count: number }[]> | undefined;
  const storeUp = new Gauge({
    name: 'kubevend_store_up', help: '1 when the store (the audit ledger) answered this scrape\'s count of live credentials, 0 when it failed or took over 2 s',
    registers,
  });
  new Gauge({
    name: 'kubevend_live_credentials',
    help: 'Credentials handed out and not yet expired, revoked or reaped, per pipeline and cluster, counted in the store (the same on every replica)',
    labelNames: ['pipeline', 'cluster'] as const, registers,
    async collect() {
      // Scrapes that overlap share one query, so a slow store is asked once, not once per scraper.
      pending ??= state.store.issuances.countLive(new Date()).finally(() => (pending = undefined));
      const counted = await within(pending, STORE_TIMEOUT_MS);
      this.reset();
      // A failed count leaves no series rather than stale ones; kubevend_store_up says why.
      storeUp.set(counted ? 1 : 0);
      for (const { pipeline, cluster, count } of counted ?? []) this.set({ pipeline, cluster }, count);
    },
  });
  new Gauge({
    name: 'kubevend_cluster_up', help: '1 when the cluster\'s API server answered kubevend\'s last background check (every 5 s), 0 when not',
    labelNames: ['cluster'] as const, registers,
    collect() {
      this.reset();
      for (const [cluster, up] of Object.entries(state.clusters())) this.set({ cluster }, up ? 1 : 0);
    },
  });
}

/** What `work` resolves to, or undefined when it fails or takes longer than `ms`. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
