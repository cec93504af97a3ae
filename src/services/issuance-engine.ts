import { decodeJwt } from 'jose';
import type { PolicyDecision } from '../policy/decide.ts';
import { accessManifests, anchorManifest, DEFAULT_INSTANCE, durableTokenManifest, plannedObjects, serviceAccountOf, type IssuanceScope } from './issuance-objects.ts';
import type { KubeGateway, KubeManifest, ObjectRef } from './ports.ts';

/** What one issuance put into one cluster. */
export interface IssuedAccess {
  issuanceId: string;
  cluster: string;
  namespace: string;
  serviceAccount: string;
  tokenKind: 'short-lived' | 'durable';
  token: string;
  expiresAt: Date;
  warnings: string[];
  /** Every object created, anchor first. */
  objects: ObjectRef[];
  /** The Kubernetes token's own `jti`: API-server audit events carry it as the credential id. */
  kubeTokenJti?: string;
}

export interface IssuanceEngineOptions {
  /** How long to wait for the token controller to fill a durable token. */
  durableTokenTimeoutMs?: number;
  /** The installation whose label every object carries (KUBEVEND_INSTANCE). */
  instance?: string;
  now?: () => Date;
}

/**
 * Creates what a decision needs in its cluster: an anchor Secret, the generated ServiceAccount,
 * role and binding where the mode asks for them, and the token. A failure midway deletes, newest
 * first, everything created so far.
 */
export function createIssuanceEngine(kube: KubeGateway, options: IssuanceEngineOptions = {}) {
  const now = options.now ?? (() => new Date());
  const durableTimeout = options.durableTokenTimeoutMs ?? 30_000;
  const instance = options.instance ?? DEFAULT_INSTANCE;

  async function deleteAll(cluster: string, objects: ObjectRef[]): Promise<void> {
    // Newest first: the token and bindings go before what they point at; the anchor goes last.
    for (const ref of [...objects].reverse()) await kube.delete(cluster, ref);
  }

  const scopeOf = (decision: PolicyDecision, issuanceId: string): IssuanceScope =>
    ({ instance, issuanceId, pipeline: decision.pipeline, namespace: decision.namespace, expiresAt: new Date(now().getTime() + decision.ttlSeconds * 1000) });

  return {
    deleteAll,

    /** What `issue` will create, for the write-ahead record made before it runs. */
    plan(decision: PolicyDecision, issuanceId: string): { serviceAccount: string; objects: ObjectRef[]; expiresAt: Date } {
      const scope = scopeOf(decision, issuanceId);
      return { serviceAccount: serviceAccountOf(scope, decision.access), objects: plannedObjects(scope, decision.access, decision.tokenKind), expiresAt: scope.expiresAt };
    },

    async issue(decision: PolicyDecision, issuanceId: string): Promise<IssuedAccess> {
      const { cluster, namespace } = decision;
      const scope = scopeOf(decision, issuanceId);
      const objects: ObjectRef[] = [];
      const create = async (manifest: KubeManifest) => {
        const created = await kube.create(cluster, manifest);
        const { name, namespace: ns } = manifest.metadata;
        objects.push({ kind: manifest.kind, name, uid: created.uid, ...(ns ? { namespace: ns } : {}) });
        return { name, ...created };
      };
      try {
        const anchor = await create(anchorManifest(scope));
        for (const manifest of accessManifests(scope, decision.access, anchor)) await create(manifest);
        const serviceAccount = serviceAccountOf(scope, decision.access);
        let token: string;
        let expiresAt = scope.expiresAt;
        let warnings: string[] = [];
        if (decision.tokenKind === 'durable') {
          const secret = await create(durableTokenManifest(scope, serviceAccount, anchor));
          token = await kube.waitForSecretToken(cluster, namespace, secret.name, secret.resourceVersion, durableTimeout);
        } else {
          const issued = await kube.createServiceAccountToken({
            cluster, namespace, serviceAccount, ttlSeconds: decision.ttlSeconds,
            boundSecret: { name: anchor.name, uid: anchor.uid },
            ...(decision.audiences ? { audiences: decision.audiences } : {}),
          });
          ({ token, expiresAt, warnings } = issued);
        }
        const jti = jtiOf(token);
        return { issuanceId, cluster, namespace, serviceAccount, tokenKind: decision.tokenKind, token, expiresAt, warnings, objects, ...(jti ? { kubeTokenJti: jti } : {}) };
      } catch (err) {
        try {
          await deleteAll(cluster, objects);
          if (err instanceof Object) rolledBack.add(err);
        } catch {
          // The reaper removes what could not be deleted now: the write-ahead record names it.
        }
        throw err;
      }
    },
  };
}

export type IssuanceEngine = ReturnType<typeof createIssuanceEngine>;

const rolledBack = new WeakSet<object>();

/** Whether a failed `issue` removed everything it had created before it threw. */
export function wasRolledBack(err: unknown): boolean {
  return err instanceof Object && rolledBack.has(err);
}

function jtiOf(token: string): string | undefined {
  try {
    const { jti } = decodeJwt(token);
    return typeof jti === 'string' ? jti : undefined;
  } catch {
    return undefined;
  }
}
