import { Problem } from '../errors.ts';
import type { Issuance, Store } from '../store/ports.ts';
import { whoAsked, type RequestContext } from './audit-facts.ts';
import type { CallerIdentity } from './authenticate.ts';
import { pipelineApplies } from './evaluate.ts';
import { operatorRole } from './operators.ts';
import type { KubeGateway, ManagedKind, PolicySource } from './ports.ts';

export interface RevocationDeps {
  policy: PolicySource;
  kube: KubeGateway;
  store: Store;
}

/** Deletes everything an issuance recorded, newest first, so the anchor goes last. */
export async function deleteIssuanceObjects(kube: KubeGateway, issuance: Pick<Issuance, 'cluster' | 'objects'>): Promise<void> {
  for (const object of [...issuance.objects].reverse()) {
    await kube.delete(issuance.cluster, { ...object, kind: object.kind as ManagedKind });
  }
}

/**
 * Revocation: deleting an issuance's anchor Secret (and the rest of its objects) makes the API
 * server refuse its token at once, whichever kind it is. The store then records the new state.
 */
export function createRevocationService({ policy, kube, store }: RevocationDeps) {
  /** Admins may revoke anything; a CI job may revoke what its own pipeline holds. */
  function mayRevoke(caller: CallerIdentity, issuance: Issuance): boolean {
    const current = policy.current();
    if (operatorRole(current, caller) === 'admin') return true;
    const pipeline = current.pipelines.find((p) => p.name === issuance.pipeline);
    return !!pipeline && pipelineApplies(pipeline, caller);
  }

  async function revokeOne(issuance: Issuance, by: string, context: RequestContext, caller: CallerIdentity, kind: 'revocation' | 'rotation' = 'revocation'): Promise<Issuance> {
    if (issuance.state !== 'active') return issuance;
    const base = { kind, ...whoAsked(context, caller), issuanceId: issuance.id, pipeline: issuance.pipeline,
      cluster: issuance.cluster, namespace: issuance.namespace, serviceAccount: issuance.serviceAccount, tokenKind: issuance.tokenKind };
    try {
      await deleteIssuanceObjects(kube, issuance);
    } catch (err) {
      const problem = err instanceof Problem ? err : new Problem('kube_error', 'revocation failed');
      await store.audit.append({ ...base, outcome: 'failed', reasonCode: problem.code, reason: problem.message }).catch(() => {});
      throw problem;
    }
    try {
      await store.issuances.markRevoked(issuance.id, new Date(), by);
      await store.audit.append({ ...base, outcome: 'granted', reason: `${kind === 'rotation' ? 'rotated' : 'revoked'} by ${by}`, objects: issuance.objects });
    } catch (err) {
      throw new Problem('store_unavailable', 'the objects are deleted, but the revocation could not be recorded', { cause: err });
    }
    return (await store.issuances.get(issuance.id)) ?? issuance;
  }

  return {
    mayRevoke,

    /** Retires an issuance that was replaced by a new one. */
    retire: (issuance: Issuance, caller: CallerIdentity, context: RequestContext) => revokeOne(issuance, actor(caller), context, caller, 'rotation'),

    async revoke(caller: CallerIdentity, id: string, context: RequestContext): Promise<Issuance> {
      const issuance = await store.issuances.get(id);
      // The same answer for "unknown" and "not yours": ids of other pipelines are not disclosed.
      if (!issuance || !mayRevoke(caller, issuance)) throw new Problem('issuance_not_found', `no issuance "${id}" that the caller may revoke`);
      return revokeOne(issuance, actor(caller), context, caller);
    },

    /** The kill switch: every active issuance of a pipeline, optionally in one cluster. Admins only. */
    async revokePipeline(caller: CallerIdentity, filter: { pipeline: string; cluster?: string }, context: RequestContext): Promise<Issuance[]> {
      if (operatorRole(policy.current(), caller) !== 'admin') throw new Problem('operator_required', 'revoking a pipeline needs the operator role "admin"');
      const revoked: Issuance[] = [];
      for (let cursor: string | undefined; ;) {
        const page = await store.issuances.list({ ...filter, state: 'active' }, { limit: 500, ...(cursor ? { cursor } : {}) });
        for (const issuance of page.items) revoked.push(await revokeOne(issuance, actor(caller), context, caller));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      return revoked;
    },
  };
}

function actor(caller: CallerIdentity): string {
  return `${caller.issuer}:${caller.subject ?? 'unknown'}`;
}

export type RevocationService = ReturnType<typeof createRevocationService>;
