import type { Kysely } from 'kysely';
import type { CheckpointStore } from './ports.ts';
import type { Database } from './schema.ts';
import type { Writes } from './write-batch.ts';

/**
 * Signed checkpoints, kept for serving the latest and the receipts. The database is not what makes
 * them trustworthy (their signatures are), so replicas that sign the same size race harmlessly.
 */
export function createCheckpointStore(db: Kysely<Database>, writes: Writes): CheckpointStore {
  return {
    async save(size, fromSize, body) {
      await writes.statement((executor) => executor.insertInto('audit_checkpoints').values({ size, from_size: fromSize, body })
        .onConflict((oc) => oc.column('size').doNothing()).execute());
    },
    async latest() {
      const row = await db.selectFrom('audit_checkpoints').select('body').orderBy('size', 'desc').limit(1).executeTakeFirst();
      return row?.body;
    },
    async covering(id) {
      const row = await db.selectFrom('audit_checkpoints').select('body')
        .where('from_size', '<', id).where('size', '>=', id).orderBy('size', 'asc').limit(1).executeTakeFirst();
      return row?.body;
    },
  };
}
