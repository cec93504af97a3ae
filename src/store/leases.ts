import type { LeaseStore } from './ports.ts';
import type { Writes } from './write-batch.ts';

export function createLeaseStore(writes: Writes): LeaseStore {
  return {
    async renew(replica, until) {
      await writes.statement((executor) => executor.insertInto('replica_leases').values({ replica, expires_at_ms: until.getTime() })
        .onConflict((oc) => oc.column('replica').doUpdateSet({ expires_at_ms: until.getTime() })).execute());
    },
    async drop(replica) {
      await writes.statement((executor) => executor.updateTable('replica_leases').set({ expires_at_ms: 0 }).where('replica', '=', replica).execute());
    },
  };
}
