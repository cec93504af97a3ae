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
    prune: (before) => writes.statement(async (executor) => {
      const result = await executor.deleteFrom('replica_leases')
        .where('expires_at_ms', '<', before.getTime())
        .where((eb) => eb.not(eb.exists(eb.selectFrom('issuances').select('id')
          .where('issuances.state', '=', 'pending').whereRef('issuances.owner', '=', 'replica_leases.replica'))))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    }),
  };
}
