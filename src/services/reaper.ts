import type { Store } from '../store/ports.ts';
import { EXPIRES_AT, LABELS, MANAGED_KINDS, MANAGED_SELECTOR } from './issuance-objects.ts';
import { deleteIssuanceObjects } from './revoke.ts';
import type { KubeGateway, ManagedObject, PolicySource, ServiceLogger } from './ports.ts';

export interface ReapReport {
  expired: number;
  orphans: number;
  replayPruned: number;
  errors: number;
}

/** Objects younger than this are never taken for orphans: their issuance may still be under way. */
const ORPHAN_GRACE_MS = 2 * 60_000;

/**
 * Removes what has expired and what was left behind. Its state lives in the cluster labels and the
 * store, not in memory, so it picks up after a restart; every step is idempotent (deletes carry the
 * object's uid, state changes succeed for one caller only), so several replicas may run it.
 */
export function createReaper({ policy, kube, store, logger }: { policy: PolicySource; kube: KubeGateway; store: Store; logger?: ServiceLogger }) {
  async function reapDue(now: Date, report: ReapReport): Promise<void> {
    for (const issuance of await store.issuances.listDue(now, 500)) {
      try {
        await deleteIssuanceObjects(kube, issuance);
        if (await store.issuances.markExpired(issuance.id, now)) {
          report.expired++;
          await store.audit.append({
            kind: 'expiry', outcome: 'granted', issuanceId: issuance.id, pipeline: issuance.pipeline, cluster: issuance.cluster,
            namespace: issuance.namespace, serviceAccount: issuance.serviceAccount, tokenKind: issuance.tokenKind, objects: issuance.objects,
          });
        }
      } catch (err) {
        report.errors++;
        logger?.warn({ issuanceId: issuance.id, error: (err as Error).message }, 'reaper could not clean up an expired issuance');
      }
    }
  }

  /** Labelled objects past their expiry, or whose issuance the store never recorded, or has ended. */
  async function reapCluster(cluster: string, now: Date, report: ReapReport): Promise<void> {
    const byIssuance = new Map<string, ManagedObject[]>();
    for (const object of await kube.list(cluster, MANAGED_KINDS, MANAGED_SELECTOR)) {
      const id = object.labels[LABELS.issuance];
      if (id) byIssuance.set(id, [...(byIssuance.get(id) ?? []), object]);
    }
    for (const [id, objects] of byIssuance) {
      const expiresAt = Math.min(...objects.map((o) => Date.parse(o.annotations[EXPIRES_AT] ?? '') || Infinity));
      const youngest = Math.max(...objects.map((o) => o.createdAt.getTime()));
      const old = now.getTime() - youngest > ORPHAN_GRACE_MS;
      const expired = expiresAt <= now.getTime();
      if (!expired && !old) continue;
      const issuance = await store.issuances.get(id);
      if (!expired && issuance?.state === 'active') continue;
      try {
        report.orphans += (await deleteIssuanceObjects(kube, { id, cluster })) > 0 ? 1 : 0;
        if (issuance?.state === 'active' && (await store.issuances.markExpired(id, now))) report.expired++;
      } catch (err) {
        report.errors++;
        logger?.warn({ issuanceId: id, cluster, error: (err as Error).message }, 'reaper could not remove leftover objects');
      }
    }
  }

  return {
    async runOnce(now = new Date()): Promise<ReapReport> {
      const report: ReapReport = { expired: 0, orphans: 0, replayPruned: 0, errors: 0 };
      await reapDue(now, report);
      for (const cluster of policy.current().clusters) {
        try {
          await reapCluster(cluster.name, now, report);
        } catch (err) {
          report.errors++;
          logger?.warn({ cluster: cluster.name, error: (err as Error).message }, 'reaper could not list a cluster');
        }
      }
      report.replayPruned = await store.replay.pruneReplay(now);
      return report;
    },

    /** Runs every `intervalMs` (with jitter, so replicas spread out) until the returned stop is called. */
    start(intervalMs: number): () => void {
      let timer: NodeJS.Timeout;
      const schedule = () => {
        timer = setTimeout(async () => {
          try {
            const report = await this.runOnce();
            if (report.expired || report.orphans || report.errors) logger?.info(report, 'reaper run');
          } catch (err) {
            logger?.error({ error: (err as Error).message }, 'reaper run failed');
          }
          schedule();
        }, intervalMs * (0.8 + Math.random() * 0.4));
        timer.unref();
      };
      schedule();
      return () => clearTimeout(timer);
    },
  };
}

export type Reaper = ReturnType<typeof createReaper>;
