import { Problem } from '../errors.ts';
import type { Issuance, IssuanceFilter, Page, PageRequest, Store } from '../store/ports.ts';
import type { CallerIdentity } from './authenticate.ts';
import { pipelineApplies } from './evaluate.ts';
import { operatorRole } from './operators.ts';
import type { PolicySource } from './ports.ts';

/**
 * Who holds what. Operators (auditor or admin) see every issuance; a CI job sees those of the
 * pipelines that apply to it, and "not found" for the rest, so ids of others are not disclosed.
 */
export function createIssuanceQueries({ policy, store }: { policy: PolicySource; store: Store }) {
  function ownPipelines(caller: CallerIdentity): string[] | 'all' {
    const current = policy.current();
    if (operatorRole(current, caller)) return 'all';
    return current.pipelines.filter((p) => pipelineApplies(p, caller)).map((p) => p.name);
  }

  return {
    async list(caller: CallerIdentity, filter: IssuanceFilter, page: PageRequest): Promise<Page<Issuance>> {
      const own = ownPipelines(caller);
      if (own !== 'all') {
        const pipeline = filter.pipeline ?? (own.length === 1 ? own[0] : undefined);
        if (!pipeline) throw new Problem('invalid_request', 'name the pipeline to list (the caller\'s identity fits several, or none)');
        if (!own.includes(pipeline)) return { items: [], nextCursor: null };
        return store.issuances.list({ ...filter, pipeline }, page);
      }
      return store.issuances.list(filter, page);
    },

    async get(caller: CallerIdentity, id: string): Promise<Issuance> {
      const issuance = await store.issuances.get(id);
      const own = ownPipelines(caller);
      if (!issuance || (own !== 'all' && !own.includes(issuance.pipeline))) {
        throw new Problem('issuance_not_found', `no issuance "${id}" that the caller may see`);
      }
      return issuance;
    },
  };
}

export type IssuanceQueries = ReturnType<typeof createIssuanceQueries>;
