import type { Kysely } from 'kysely';
import type { LedgerWithChanges } from './audit-ledger.ts';
import type { Suspension, SuspensionStore } from './ports.ts';
import type { Database, SuspensionsTable } from './schema.ts';

/** Suspensions; every change goes with its audit record, under the chain's lock (see ports.ts). */
export function createSuspensionStore(db: Kysely<Database>, ledger: LedgerWithChanges): SuspensionStore {
  return {
    async suspend({ pipeline, cluster, at, suspendedBy, reason }, record) {
      const row: SuspensionsTable = { pipeline, cluster: cluster ?? '', suspended_at_ms: at.getTime(), suspended_by: suspendedBy, reason };
      let kept = row;
      await ledger.appendWith([record], async (trx) => {
        await trx.insertInto('suspensions').values(row).onConflict((oc) => oc.columns(['pipeline', 'cluster']).doNothing()).execute();
        kept = (await trx.selectFrom('suspensions').selectAll().where('pipeline', '=', pipeline).where('cluster', '=', row.cluster).executeTakeFirst()) ?? row;
      });
      return fromRow(kept);
    },

    async lift(pipeline, cluster, record) {
      const existing = await db.selectFrom('suspensions').select('pipeline').where('pipeline', '=', pipeline).where('cluster', '=', cluster ?? '').executeTakeFirst();
      if (!existing) return false;
      let lifted = false;
      await ledger.appendWith([record], async (trx) => {
        const result = await trx.deleteFrom('suspensions').where('pipeline', '=', pipeline).where('cluster', '=', cluster ?? '').executeTakeFirst();
        lifted = Number(result.numDeletedRows) === 1;
      });
      return lifted;
    },

    async list() {
      return (await db.selectFrom('suspensions').selectAll().orderBy('pipeline').orderBy('cluster').execute()).map(fromRow);
    },
  };
}

function fromRow(row: SuspensionsTable): Suspension {
  return {
    pipeline: row.pipeline, cluster: row.cluster === '' ? null : row.cluster,
    suspendedAt: new Date(Number(row.suspended_at_ms)), suspendedBy: row.suspended_by, reason: row.reason,
  };
}
