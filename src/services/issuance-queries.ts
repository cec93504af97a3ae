import { Problem } from '../errors.ts';
import type { PolicySource } from '../policy/load.ts';
import { holderScope, mayActOn } from '../policy/operators.ts';
import type { Issuance, IssuanceFilter, Page, PageRequest, Store } from '../store/ports.ts';
import type { CallerIdentity } from './authenticate.ts';

/**
 * Who holds what. Operators (auditor or admin) see every issuance; a CI job sees only those issued
 * to its own identity, and "not found" for the rest, so ids of others are not disclosed.
 */
export function createIssuanceQueries({ policy, store }: { policy: PolicySource; store: Store }) {
  return {
    async list(caller: CallerIdentity, filter: IssuanceFilter, page: PageRequest): Promise<Page<Issuance>> {
      const scope = holderScope(policy.current(), caller);
      if (!scope) return store.issuances.list(filter, page);
      const pipelines = filter.pipeline === undefined ? scope.pipelines : scope.pipelines.filter((p) => p === filter.pipeline);
      return store.issuances.list({ ...filter, pipelines, holders: scope.holders }, page);
    },

    async get(caller: CallerIdentity, id: string): Promise<Issuance> {
      const issuance = await store.issuances.get(id);
      if (!issuance || !mayActOn(policy.current(), caller, issuance, 'read')) {
        throw new Problem('issuance_not_found', `no issuance "${id}" that the caller may see`);
      }
      return issuance;
    },
  };
}

export type IssuanceQueries = ReturnType<typeof createIssuanceQueries>;
