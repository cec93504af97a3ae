import type { Kysely } from 'kysely';
import type { ReplayGuard } from './ports.ts';
import { preparedQuery } from './prepared.ts';
import type { Database } from './schema.ts';
import type { Writes } from './write-batch.ts';

export function createReplayGuard(db: Kysely<Database>, writes: Writes, now: () => Date = () => new Date()): ReplayGuard {
  // One statement, decided by the primary key, so whichever process gets there first wins. An
  // entry whose token has expired no longer counts: it is taken over, as if it had been pruned.
  const spend = preparedQuery<'issuer' | 'jti' | 'expiresAtMs' | 'nowMs'>(db, (param) =>
    db
      .insertInto('replay')
      .values({ issuer: param('issuer'), jti: param('jti'), expires_at_ms: param('expiresAtMs') })
      .onConflict((oc) =>
        oc
          .columns(['issuer', 'jti'])
          .doUpdateSet({ expires_at_ms: (eb) => eb.ref('excluded.expires_at_ms') })
          .where('replay.expires_at_ms', '<=', param('nowMs')),
      ),
  );

  return {
    async acceptOnce(issuer, jti, expiresAt) {
      const result = await writes.statement((executor) => spend({ issuer, jti, expiresAtMs: expiresAt.getTime(), nowMs: now().getTime() }, executor));
      return Number(result.numAffectedRows ?? 0) === 1;
    },

    async release(issuer, jti) {
      await writes.statement((executor) => executor.deleteFrom('replay').where('issuer', '=', issuer).where('jti', '=', jti).execute());
    },

    async pruneReplay(at) {
      const result = await writes.statement((executor) => executor.deleteFrom('replay').where('expires_at_ms', '<=', at.getTime()).executeTakeFirst());
      return Number(result.numDeletedRows);
    },
  };
}
