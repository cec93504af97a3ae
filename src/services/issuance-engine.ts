import { Problem } from '../errors.ts';
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

  const scopeOf = (decision: PolicyDecision, issuanceId: string): IssuanceScope =>
    ({ instance, issuanceId, pipeline: decision.pipeline, namespace: decision.namespace, expiresAt: new Date(now().getTime() + decision.ttlSeconds * 1000) });

  return {
    /** Deletes a plan's objects: what an issuance that will not be handed out made. */
    deleteAll: (plan: IssuancePlan) => deleteNewestFirst(kube, plan.decision.cluster, plan.objects),

    /**
     * What `issue` will create, computed once: the write-ahead record names it before anything
     * exists, `issue` creates it, and an undo deletes it.
     */
    plan(decision: PolicyDecision, issuanceId: string): IssuancePlan {
      const scope = scopeOf(decision, issuanceId);
      return {
        decision, scope, issuanceId, serviceAccount: serviceAccountOf(scope, decision.access),
        objects: plannedObjects(scope, decision.access, decision.tokenKind), expiresAt: scope.expiresAt,
      };
    },

    /** Creates what the plan names; a failure midway deletes what was made and throws an IssuanceFailed. */
    async issue(plan: IssuancePlan): Promise<IssuedAccess> {
      const { decision, scope, issuanceId } = plan;
      const { cluster, namespace } = decision;
      const objects: ObjectRef[] = [];
      let attempting: ObjectRef | undefined;
      const create = async (manifest: KubeManifest) => {
        const { name, namespace: ns } = manifest.metadata;
        attempting = { kind: manifest.kind, name, ...(ns ? { namespace: ns } : {}) };
        const created = await kube.create(cluster, manifest);
        attempting = undefined;
        objects.push({ kind: manifest.kind, name, uid: created.uid, ...(ns ? { namespace: ns } : {}) });
        return { name, ...created };
      };
      try {
        const anchor = await create(anchorManifest(scope));
        for (const manifest of accessManifests(scope, decision.access, anchor)) await create(manifest);
        const serviceAccount = plan.serviceAccount;
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
        // A create that got no clear answer may have made its object (the server hung past the
        // deadline, or died after saving it): that is not rolled back here, where the caller waits,
        // but left to the reaper, which the record names it to, once the server answers again.
        const unanswered = attempting !== undefined && mayHaveBeenMade(err);
        const deleted = await deleteNewestFirst(kube, cluster, objects).then(() => true, () => false);
        const rolledBack = deleted && !unanswered;
        throw new IssuanceFailed(err, rolledBack);
      }
    },
  };
}

export type IssuanceEngine = ReturnType<typeof createIssuanceEngine>;

/** What one issuance will create; computed once per issuance (see `plan`). */
export interface IssuancePlan {
  decision: PolicyDecision;
  issuanceId: string;
  scope: IssuanceScope;
  serviceAccount: string;
  objects: ObjectRef[];
  expiresAt: Date;
}

/**
 * An issuance that failed midway; `cause` is what failed. `rolledBack` says whether everything it
 * had created is gone again; when not, the reaper removes the rest, which the write-ahead record
 * names.
 */
export class IssuanceFailed extends Error {
  readonly rolledBack: boolean;

  constructor(cause: unknown, rolledBack: boolean) {
    super('an issuance failed midway', { cause });
    this.rolledBack = rolledBack;
    this.name = 'IssuanceFailed';
  }
}

/**
 * Whether a create that failed may still have made its object: no answer came (a timeout, a
 * connection cut mid-request) or the server failed itself; a refusal, or a connection that never
 * opened, made nothing.
 */
function mayHaveBeenMade(err: unknown): boolean {
  if (!(err instanceof Problem)) return true;
  if (err.code === 'kube_timeout' || err.code === 'kube_error') return true;
  const cause = (err.cause as { code?: unknown } | undefined)?.code;
  return err.code === 'cluster_unreachable' && (cause === 'ECONNRESET' || cause === 'UND_ERR_SOCKET');
}

/** Deletes objects newest first: the token and bindings before what they point at, the anchor last. */
export async function deleteNewestFirst(kube: KubeGateway, cluster: string, objects: ObjectRef[]): Promise<void> {
  for (const ref of [...objects].reverse()) await kube.delete(cluster, ref);
}

function jtiOf(token: string): string | undefined {
  try {
    const { jti } = decodeJwt(token);
    return typeof jti === 'string' ? jti : undefined;
  } catch {
    return undefined;
  }
}
