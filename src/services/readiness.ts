import type { Store } from '../store/ports.ts';
import type { PolicySource } from '../policy/load.ts';
import type { KubeGateway } from './ports.ts';

export interface Check {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  /** `unavailable` (503) when kubevend cannot issue at all; `degraded` when some clusters are down. */
  status: 'ok' | 'degraded' | 'unavailable';
  policy: { version: string; loadedAt: Date; reloadError?: { message: string; at: Date } };
  store: Check;
  clusters: Record<string, Check>;
}

const CLUSTER_CHECK_TTL_MS = 5000;

/**
 * Readiness for operators and load balancers. Without the store nothing can be issued (fail closed),
 * so the replica is taken out; a cluster that is down only affects its own grants, so it degrades
 * the answer without taking every replica out of service. Cluster answers are cached briefly.
 */
export function createReadiness({ policy, store, kube }: { policy: PolicySource; store: Store; kube: KubeGateway }) {
  let clusters: { at: number; value: Promise<Record<string, Check>> } | undefined;

  const checkClusters = async (): Promise<Record<string, Check>> => {
    const names = policy.current().clusters.map((c) => c.name);
    const results = await Promise.all(names.map(async (name) => {
      try {
        return [name, { ok: true, detail: await kube.version(name) }] as const;
      } catch (err) {
        return [name, { ok: false, detail: (err as Error).message }] as const;
      }
    }));
    return Object.fromEntries(results);
  };

  return {
    async check(): Promise<Readiness> {
      if (!clusters || Date.now() - clusters.at > CLUSTER_CHECK_TTL_MS) clusters = { at: Date.now(), value: checkClusters() };
      const [storeCheck, clusterChecks] = await Promise.all([
        store.ping().then((): Check => ({ ok: true }), (err: Error): Check => ({ ok: false, detail: err.message })),
        clusters.value,
      ]);
      const { version, loadedAt, reloadError } = policy.status();
      const allClusters = Object.values(clusterChecks).every((c) => c.ok);
      return {
        status: !storeCheck.ok ? 'unavailable' : allClusters ? 'ok' : 'degraded',
        policy: { version, loadedAt, ...(reloadError ? { reloadError } : {}) },
        store: storeCheck,
        clusters: clusterChecks,
      };
    },
  };
}

export type ReadinessService = ReturnType<typeof createReadiness>;
