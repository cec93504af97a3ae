import type { Kysely } from 'kysely';
import type { ReplayGuard } from './ports.ts';
import type { Database } from './schema.ts';

export function createReplayGuard(db: Kysely<Database>): ReplayGuard {
  return {
    async acceptOnce(issuer, jti, expiresAt) {
      // One statement, decided by the primary key: whichever process inserts first wins, and an
      // entry is remembered until pruned, even past its expiry (the token is refused as expired then).
      const result = await db
        .insertInto('replay')
        .values({ issuer, jti, expires_at_ms: expiresAt.getTime() })
        .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async pruneReplay(now) {
      const result = await db.deleteFrom('replay').where('expires_at_ms', '<=', now.getTime()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
