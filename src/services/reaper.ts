import { Problem } from '../errors.ts';
import type { Issuance, Store } from '../store/ports.ts';
import { DEFAULT_INSTANCE, EXPIRES_AT, LABELS, MANAGED_KINDS, managedSelector } from './issuance-objects.ts';
import type { PolicySource } from '../policy/load.ts';
import { noTelemetry, type KubeGateway, type ManagedObject, type ServiceLogger, type Telemetry } from './ports.ts';
import { deleteIssuanceObjects } from './revoke.ts';

export interface ReapReport {
  expired: number;
  abandoned: number;
  strays: number;
  replayPruned: number;
  auditPruned: number;
  errors: number;
}

export interface ReaperDeps {
  policy: PolicySource;
  kube: KubeGateway;
  store: Store;
  logger?: ServiceLogger;
  /** Audit records older than this are pruned; 0 keeps them all. */
  auditRetentionMs?: number;
  telemetry?: Telemetry;
  /** The installation (KUBEVEND_INSTANCE): the sweep looks at its objects only. */
  instance?: string;
  /** This replica's id: its own pending issuances are never taken for abandoned by its own reaper. */
  replica?: string;
}

/** A pending issuance older than this was abandoned by a process that died; younger ones may be under way. */
const GRACE_MS = 2 * 60_000;
/** How long a lapsed replica lease is kept (see LeaseStore.prune). */
const LEASE_KEEP_MS = 60 * 60_000;

/**
 * Removes what has expired and what was left behind. Its state lives in the store and the cluster
 * labels, not in memory, so it picks up after a restart; every step is idempotent (state changes
 * succeed for one caller only, deletes of what is gone are no-ops), so several replicas may run it.
 */
export function createReaper({ policy, kube, store, logger, auditRetentionMs = 0, telemetry = noTelemetry, instance = DEFAULT_INSTANCE, replica }: ReaperDeps) {
  const facts = (i: Issuance) => ({
    issuanceId: i.id, pipeline: i.pipeline, cluster: i.cluster, namespace: i.namespace,
    serviceAccount: i.serviceAccount, tokenKind: i.tokenKind, objects: i.objects,
  });

  async function clean(issuance: Issuance, report: ReapReport, finish: () => Promise<boolean>, onFinished: () => Promise<unknown>) {
    try {
      await deleteIssuanceObjects(kube, issuance);
      if (await finish()) await onFinished();
    } catch (err) {
      report.errors++;
      logger?.warn({ issuanceId: issuance.id, error: (err as Error).message }, 'reaper could not clean up an issuance');
    }
  }

  /** Belt and braces: this installation's objects whose issuance the store does not know, or has ended. */
  async function sweep(cluster: string, now: Date, report: ReapReport): Promise<void> {
    for (const kind of MANAGED_KINDS) {
      const pages = kube.list(cluster, kind, managedSelector(instance))[Symbol.asyncIterator]();
      for (;;) {
        let page: IteratorResult<ManagedObject[]>;
        try {
          page = await pages.next();
        } catch (err) {
          // A least-privilege deployment may not list every kind; the store-driven passes still run.
          // (A refused delete is not this: it fails the sweep, as any other error does.)
          if (err instanceof Problem && err.code === 'kube_forbidden') break;
          throw err;
        }
        if (page.done) break;
        for (const object of page.value) await sweepOne(cluster, object, now, report);
      }
    }
  }

  async function sweepOne(cluster: string, object: ManagedObject, now: Date, report: ReapReport): Promise<void> {
    const id = object.labels[LABELS.issuance];
    const expired = Date.parse(object.annotations[EXPIRES_AT] ?? '') + GRACE_MS <= now.getTime();
    if (!id || (!expired && now.getTime() - object.createdAt.getTime() < GRACE_MS)) return;
    const issuance = await store.issuances.get(id);
    if (issuance && (issuance.state === 'active' || issuance.state === 'pending') && !expired) return;
    if (await kube.delete(cluster, object)) report.strays++;
  }

  /**
   * Finishes pending issuances nobody is finishing: their replica gave up on them or died (its lease
   * lapsed), or, for a replica that keeps no lease, the grace has passed. Cheap enough to run every
   * few seconds, so that what a dead replica left goes within seconds rather than minutes.
   */
  async function heal(now: Date, report: ReapReport): Promise<void> {
    for (const issuance of await store.issuances.listStale(new Date(now.getTime() - GRACE_MS), 500, now, replica)) {
      // Claimed first: an issuance whose replica is alive after all can no longer be handed out,
      // so nothing it hands out loses its objects under it.
      if (!(await store.issuances.claim(issuance.id, issuance.owner).catch(() => false))) continue;
      await clean(issuance, report, () => store.issuances.markFailed(issuance.id, now), async () => {
        report.abandoned++;
        await store.audit.append({
          kind: 'issuance', outcome: 'failed', reasonCode: 'abandoned',
          reason: 'the issuing process stopped midway; the reaper removed what it had created', ...facts(issuance),
        });
      });
    }
  }

  const emptyReport = (): ReapReport => ({ expired: 0, abandoned: 0, strays: 0, replayPruned: 0, auditPruned: 0, errors: 0 });

  return {
    /** The pending part of a run alone (see heal). */
    async healOnce(now = new Date()): Promise<ReapReport> {
      const report = emptyReport();
      await heal(now, report);
      if (report.abandoned || report.errors) logger?.info({ ...report }, 'reaper healed abandoned issuances');
      return report;
    },

    async runOnce(now = new Date()): Promise<ReapReport> {
      const report = emptyReport();
      for (const issuance of await store.issuances.listDue(now, 500)) {
        await clean(issuance, report, () => store.issuances.markExpired(issuance.id, now), async () => {
          report.expired++;
          await store.audit.append({ kind: 'expiry', outcome: 'granted', ...facts(issuance) });
        });
      }
      await heal(now, report);
      for (const cluster of policy.current().clusters) {
        try {
          await sweep(cluster.name, now, report);
        } catch (err) {
          report.errors++;
          logger?.warn({ cluster: cluster.name, error: (err as Error).message }, 'reaper could not sweep a cluster');
        }
      }
      report.replayPruned = await store.replay.pruneReplay(now);
      await store.rateLimits.prune(now);
      // An hour on, a lapsed lease no longer tells healing anything the grace does not.
      await store.leases.prune(new Date(now.getTime() - LEASE_KEEP_MS));
      if (auditRetentionMs > 0) report.auditPruned = await store.audit.prune(new Date(now.getTime() - auditRetentionMs));
      telemetry.reaperRun(report.errors ? 'error' : 'ok', report);
      return report;
    },

    /** Runs every `intervalMs` (with jitter, so replicas spread out) until the returned stop is called. */
    start(intervalMs: number): () => void {
      let timer: NodeJS.Timeout;
      const schedule = () => {
        timer = setTimeout(async () => {
          try {
            const report = await this.runOnce();
            if (report.expired || report.abandoned || report.strays || report.auditPruned || report.errors) logger?.info({ ...report }, 'reaper run');
          } catch (err) {
            telemetry.reaperRun('error', { expired: 0, abandoned: 0, strays: 0 });
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
