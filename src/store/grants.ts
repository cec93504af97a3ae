import type { Kysely } from 'kysely';
import type { LedgerWithChanges } from './audit-ledger.ts';
import { prepareActivation } from './issuance-store.ts';
import type { GrantAnswer, GrantRefusal, GrantStore } from './ports.ts';
import { preparedQuery } from './prepared.ts';
import type { Database } from './schema.ts';

/** Thrown inside a grant's transaction to roll it back, carrying why: the answer commit gives. */
class NotGranted extends Error {
  readonly answer: GrantRefusal;

  constructor(answer: GrantRefusal) {
    super(answer.refused);
    this.answer = answer;
  }
}

/**
 * The grant transaction: in one transaction and under the ledger's lock, each issuance's pipeline
 * is checked for a suspension, each moves pending -> active, and each record is appended. A
 * suspension takes the same lock, so a grant either commits before it (and the kill switch's sweep
 * finds it active) or sees it and rolls back.
 */
export function createGrantStore(db: Kysely<Database>, ledger: LedgerWithChanges): GrantStore {
  const activate = prepareActivation(db);
  const suspended = preparedQuery<'pipeline' | 'cluster', { pipeline: string }>(db, (param) =>
    db.selectFrom('suspensions').select('pipeline').where('pipeline', '=', param('pipeline')).where('cluster', 'in', [param('cluster'), '']),
  );
  return {
    commit: (grants) =>
      ledger
        .appendWith(grants.map((g) => g.record), async (trx) => {
          for (const { issuanceId, outcome, record, owner } of grants) {
            const [pipeline, cluster] = [record.pipeline ?? '', record.cluster ?? ''];
            if ((await suspended({ pipeline, cluster }, trx)).rows.length) throw new NotGranted({ refused: 'suspended', pipeline, cluster });
            if (!(await activate(issuanceId, outcome, owner, trx))) throw new NotGranted({ refused: 'not_pending', issuanceId });
          }
        })
        .then((records): GrantAnswer => ({ granted: records }), (err: unknown) => {
          if (err instanceof NotGranted) return err.answer;
          throw err;
        }),
  };
}
