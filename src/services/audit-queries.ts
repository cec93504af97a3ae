import type { AuditFilter, AuditRecord, ChainVerification, Page, PageRequest, Store } from '../store/ports.ts';
import type { CallerIdentity } from './authenticate.ts';
import { requireOperator } from '../policy/operators.ts';
import type { PolicySource } from '../policy/load.ts';

/** The ledger, for operators only (auditor or admin): listing, streaming and verifying the chain. */
export function createAuditQueries({ policy, store }: { policy: PolicySource; store: Store }) {
  const auditor = (caller: CallerIdentity) => requireOperator(policy.current(), caller, 'auditor');
  return {
    async list(caller: CallerIdentity, filter: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>> {
      auditor(caller);
      return store.audit.list(filter, page);
    },

    /** Checks the role before the first record is read; the records are then read in batches. */
    stream(caller: CallerIdentity, filter: AuditFilter): AsyncIterable<AuditRecord> {
      auditor(caller);
      return store.audit.stream(filter);
    },

    async verify(caller: CallerIdentity): Promise<ChainVerification> {
      auditor(caller);
      return store.audit.verify();
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
