import { Problem, problemOf } from '../errors.ts';
import type { PolicySource } from '../policy/load.ts';
import { mayActOn, operatorRole } from '../policy/operators.ts';
import type { Issuance, Store, Suspension } from '../store/ports.ts';
import { whoAsked, type RequestContext } from './audit-facts.ts';
import type { CallerIdentity } from './authenticate.ts';
import type { KubeGateway, ManagedKind } from './ports.ts';
import { deleteNewestFirst } from './issuance-engine.ts';
import type { SuspensionCache } from './suspension-view.ts';

export interface RevocationDeps {
  policy: PolicySource;
  kube: KubeGateway;
  store: Store;
  suspensions: SuspensionCache;
}

/** Deletes everything an issuance recorded, newest first, so the anchor goes last. */
export function deleteIssuanceObjects(kube: KubeGateway, issuance: Pick<Issuance, 'cluster' | 'objects'>): Promise<void> {
  return deleteNewestFirst(kube, issuance.cluster, issuance.objects.map((o) => ({ ...o, kind: o.kind as ManagedKind })));
}

/**
 * Revocation: deleting an issuance's anchor Secret (and the rest of its objects) makes the API
 * server refuse its token at once, whichever kind it is. The store then records the new state.
 */
export function createRevocationService({ policy, kube, store, suspensions }: RevocationDeps) {
  async function revokeOne(issuance: Issuance, by: string, context: RequestContext, caller: CallerIdentity, kind: 'revocation' | 'rotation' = 'revocation'): Promise<Issuance> {
    if (issuance.state !== 'active') return issuance;
    const base = { kind, ...whoAsked(context, caller), issuanceId: issuance.id, pipeline: issuance.pipeline,
      cluster: issuance.cluster, namespace: issuance.namespace, serviceAccount: issuance.serviceAccount, tokenKind: issuance.tokenKind };
    try {
      await deleteIssuanceObjects(kube, issuance);
    } catch (err) {
      const problem = problemOf(err);
      await store.audit.append({ ...base, outcome: 'failed', reasonCode: problem.code, reason: problem.message }).catch(() => {
        // The caller's answer says it failed; the ledger cannot say more while it cannot be written.
      });
      throw problem;
    }
    try {
      await store.issuances.markRevoked(issuance.id, new Date(), by);
      await store.audit.append({ ...base, outcome: 'granted', reason: `${kind === 'rotation' ? 'rotated' : 'revoked'} by ${by}`, objects: issuance.objects });
    } catch (err) {
      throw problemOf(err, 'the objects are deleted, but the revocation could not be recorded');
    }
    return (await store.issuances.get(issuance.id)) ?? issuance;
  }

  function requireAdmin(caller: CallerIdentity, what: string): void {
    if (operatorRole(policy.current(), caller) !== 'admin') throw new Problem('operator_required', `${what} needs the operator role "admin"`);
  }

  return {
    /** Retires an issuance that was replaced by a new one. */
    retire: (issuance: Issuance, caller: CallerIdentity, context: RequestContext) => revokeOne(issuance, actor(caller), context, caller, 'rotation'),

    async revoke(caller: CallerIdentity, id: string, context: RequestContext): Promise<Issuance> {
      const issuance = await store.issuances.get(id);
      // The same answer for "unknown" and "not yours": ids of others are not disclosed.
      if (!issuance || !mayActOn(policy.current(), caller, issuance, 'revoke')) {
        throw new Problem('issuance_not_found', `no issuance "${id}" that the caller may revoke`);
      }
      return revokeOne(issuance, actor(caller), context, caller);
    },

    /**
     * The kill switch: the pipeline (in one cluster, or all) is suspended in the store first, so
     * that no replica issues for it any more and no issuance in flight becomes active; then every
     * active issuance of it is revoked. It stays suspended until an admin lifts it.
     */
    async revokePipeline(caller: CallerIdentity, filter: { pipeline: string; cluster?: string }, context: RequestContext): Promise<{ suspension: Suspension; revoked: Issuance[] }> {
      requireAdmin(caller, 'revoking a pipeline');
      const by = actor(caller);
      const suspension = await store.suspensions.suspend(
        { pipeline: filter.pipeline, cluster: filter.cluster ?? null, at: new Date(), suspendedBy: by, reason: null },
        { kind: 'suspension', outcome: 'granted', ...whoAsked(context, caller), pipeline: filter.pipeline, cluster: filter.cluster ?? null, reason: `suspended by ${by}` },
      );
      suspensions.invalidate();
      const revoked: Issuance[] = [];
      for (let cursor: string | undefined; ;) {
        const page = await store.issuances.list({ ...filter, state: 'active' }, { limit: 500, ...(cursor ? { cursor } : {}) });
        for (const issuance of page.items) revoked.push(await revokeOne(issuance, by, context, caller));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      return { suspension, revoked };
    },

    /** Lifts a suspension; audited. False when there was none. */
    async resume(caller: CallerIdentity, filter: { pipeline: string; cluster?: string }, context: RequestContext): Promise<boolean> {
      requireAdmin(caller, 'lifting a suspension');
      const by = actor(caller);
      const lifted = await store.suspensions.lift(filter.pipeline, filter.cluster ?? null,
        { kind: 'suspension', outcome: 'granted', ...whoAsked(context, caller), pipeline: filter.pipeline, cluster: filter.cluster ?? null, reason: `lifted by ${by}` });
      suspensions.invalidate();
      return lifted;
    },

    async suspensions(caller: CallerIdentity): Promise<Suspension[]> {
      if (!operatorRole(policy.current(), caller)) throw new Problem('operator_required', 'listing suspensions needs an operator role');
      return store.suspensions.list();
    },
  };
}

function actor(caller: CallerIdentity): string {
  return `${caller.issuer}:${caller.subject ?? 'unknown'}`;
}

export type RevocationService = ReturnType<typeof createRevocationService>;
