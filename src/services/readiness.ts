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
  /** With checkpoints signed: whether the signer signs (it refuses a ledger that does not extend what it signed). */
  auditSigning?: Check;
}

export interface ReadinessTimings {
  /** How often every cluster's API server is asked its version, in the background. */
  clusterIntervalMs?: number;
  /** How long a cluster has to answer before it counts as down until its next check. */
  clusterTimeoutMs?: number;
  /** How long a readiness answer waits for the store before it counts as down. */
  storeTimeoutMs?: number;
}

/**
 * Readiness for operators and load balancers. Without the store nothing can be issued (fail closed),
 * so the replica is taken out; a cluster that is down only affects its own grants, so it degrades
 * the answer without taking every replica out of service. A probe never waits on a cluster: they
 * are checked in the background, and the answer gives what each last said. The store is asked on
 * each answer, and waited on for a second at most, so that a probe's timeout of 2 s always holds.
 */
export function createReadiness(
  { policy, store, kube, auditSigning }: { policy: PolicySource; store: Store; kube: KubeGateway; auditSigning?: () => boolean },
  timings: ReadinessTimings = {},
) {
  const { clusterIntervalMs = 5000, clusterTimeoutMs = 2000, storeTimeoutMs = 1000 } = timings;
  const clusters = new Map<string, Check>();
  // A hung API server's call is not abandoned but left to the gateway's own deadline; until then
  // no second one is made, so a cluster that hangs holds one call, not one every interval.
  const asking = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let ping: { at: number; result: Promise<Check> } | undefined;

  const checkCluster = async (name: string): Promise<void> => {
    if (asking.has(name)) return;
    asking.add(name);
    const answer = kube.version(name).then(
      (version): Check => ({ ok: true, detail: version }),
      (err: Error): Check => ({ ok: false, detail: err.message }),
    ).finally(() => asking.delete(name));
    clusters.set(name, await within(answer, clusterTimeoutMs, `the API server did not answer within ${clusterTimeoutMs} ms`));
  };
  const checkClusters = async () => void (await Promise.all(policy.current().clusters.map((c) => checkCluster(c.name))));

  const pingStore = (): Promise<Check> => {
    // A ping still under way is shared for an interval, so that a hung database is not sent one
    // more query by every probe, nor trusted forever to answer the one it has.
    if (!ping || Date.now() - ping.at > clusterIntervalMs) {
      const current = { at: Date.now(), result: store.ping().then((): Check => ({ ok: true }), (err: Error): Check => ({ ok: false, detail: err.message })) };
      void current.result.finally(() => {
        if (ping === current) ping = undefined;
      });
      ping = current;
    }
    return within(ping.result, storeTimeoutMs, `the store did not answer within ${storeTimeoutMs} ms`);
  };

  return {
    /** Checks every cluster, then again every interval until `stop`; resolves once the first round is in. */
    async start(): Promise<void> {
      clearInterval(timer);
      // Never what keeps the process alive.
      timer = setInterval(() => void checkClusters(), clusterIntervalMs).unref();
      await checkClusters();
    },
    stop(): void {
      clearInterval(timer);
      timer = undefined;
    },
    /** Whether each configured cluster answered its last check, without waiting; absent until checked. */
    clusterStates(): Record<string, boolean> {
      return Object.fromEntries(policy.current().clusters.flatMap((c) => {
        const check = clusters.get(c.name);
        return check ? [[c.name, check.ok]] : [];
      }));
    },
    async check(): Promise<Readiness> {
      const storeCheck = await pingStore();
      const clusterChecks = Object.fromEntries(policy.current().clusters.map((c) => [c.name, clusters.get(c.name) ?? { ok: false, detail: 'not checked yet' }]));
      const { version, loadedAt, reloadError } = policy.status();
      const allClusters = Object.values(clusterChecks).every((c) => c.ok);
      // A signer that refuses is degraded, not unavailable: credentials are still recorded in the
      // chain, but no checkpoint vouches for them until someone looks (audit:verify).
      const signing: Check | undefined = auditSigning && (auditSigning() ? { ok: true } : { ok: false, detail: 'the ledger does not extend what was signed; no checkpoint is signed (run audit:verify)' });
      return {
        status: !storeCheck.ok ? 'unavailable' : allClusters && signing?.ok !== false ? 'ok' : 'degraded',
        policy: { version, loadedAt, ...(reloadError ? { reloadError } : {}) },
        store: storeCheck,
        clusters: clusterChecks,
        ...(signing ? { auditSigning: signing } : {}),
      };
    },
  };
}

/** What `answer` settles to, or a failed check once `ms` have passed. */
async function within(answer: Promise<Check>, ms: number, late: string): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: late }), ms);
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type ReadinessService = ReturnType<typeof createReadiness>;
