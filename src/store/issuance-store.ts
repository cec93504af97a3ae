import { z } from 'zod';
import type { Kysely } from 'kysely';
import { decodeCursor, pageLimit, pageOf } from './page.ts';
import type { Issuance, IssuanceInput, IssuanceOutcome, IssuanceState, IssuanceStore, KubeObjectRef, TokenKind } from './ports.ts';
import { preparedInsert, preparedQuery } from './prepared.ts';
import type { Database, IssuancesTable } from './schema.ts';
import type { Writes } from './write-batch.ts';

const issuanceCursor = z.tuple([z.literal('issuance'), z.number().int(), z.string()]);

/**
 * Pending -> active, on `db` or in `trx`, one of its transactions: true when this call made the
 * move, false when the issuance is unknown, no longer pending, or no longer its owner's (the
 * reaper claimed it: its objects are being deleted).
 */
export function prepareActivation(db: Kysely<Database>) {
  const set = (param: (name: 'expiresAtMs' | 'kubeTokenJti' | 'id' | 'owner') => never) => db
    .updateTable('issuances')
    .set({ state: 'active', expires_at_ms: param('expiresAtMs'), kube_token_jti: param('kubeTokenJti') })
    .where('id', '=', param('id'))
    .where('state', '=', 'pending');
  const owned = preparedQuery<'id' | 'expiresAtMs' | 'kubeTokenJti' | 'owner'>(db, (param) => set(param).where('owner', '=', param('owner')));
  const unowned = preparedQuery<'id' | 'expiresAtMs' | 'kubeTokenJti' | 'owner'>(db, (param) => set(param).where('owner', 'is', null));
  return async (id: string, outcome: IssuanceOutcome, owner: string | null, trx?: Kysely<Database>) => {
    const values = { id, expiresAtMs: outcome.expiresAt.getTime(), kubeTokenJti: outcome.kubeTokenJti, owner };
    const result = await (owner === null ? unowned(values, trx) : owned(values, trx));
    return Number(result.numAffectedRows) === 1;
  };
}

export function createIssuanceStore(db: Kysely<Database>, writes: Writes): IssuanceStore {
  const insertRow = preparedInsert(db, 'issuances');
  const activate = prepareActivation(db);

  // Transitions only ever leave `active`, and each is one conditional UPDATE: with several
  // replicas (or a reaper racing a revoke) exactly one caller sees `true`.
  const leave = async (from: IssuanceState, id: string, set: Partial<IssuancesTable>) => {
    const result = await writes.statement((executor) => executor.updateTable('issuances').set(set).where('id', '=', id).where('state', '=', from).executeTakeFirst());
    return Number(result.numUpdatedRows) === 1;
  };
  const leaveActive = (id: string, set: Partial<IssuancesTable>) => leave('active', id, set);

  async function insert(issuance: IssuanceInput, state: IssuanceState): Promise<Issuance> {
    const row: IssuancesTable = {
      id: issuance.id,
      pipeline: issuance.pipeline,
      issuer: issuance.issuer,
      subject: issuance.subject,
      cluster: issuance.cluster,
      namespace: issuance.namespace,
      service_account: issuance.serviceAccount,
      token_kind: issuance.tokenKind,
      kube_token_jti: issuance.kubeTokenJti,
      objects: JSON.stringify(issuance.objects),
      created_at_ms: issuance.createdAt.getTime(),
      expires_at_ms: issuance.expiresAt.getTime(),
      state,
      revoked_at_ms: null,
      revoked_by: null,
      expired_at_ms: null,
      holder: issuance.holder ?? null,
      owner: issuance.owner ?? null,
    };
    await writes.statement((executor) => insertRow(row, executor));
    return fromRow(row);
  }

  return {
    create: (issuance) => insert(issuance, 'active'),

    createPending: (issuance) => insert(issuance, 'pending'),

    activate: (id, outcome) => writes.statement((executor) => activate(id, outcome, null, executor)),

    claim: (id, owner) => writes.statement(async (executor) => {
      const result = await executor.updateTable('issuances').set({ owner: '' }).where('id', '=', id).where('state', '=', 'pending')
        .where((eb) => (owner === null ? eb('owner', 'is', null) : eb('owner', '=', owner))).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    }),

    markFailed: (id, at) => leave('pending', id, { state: 'failed', expired_at_ms: at.getTime() }),

    async listStale(before, limit = 100, now = new Date(), self) {
      const rows = await db
        .selectFrom('issuances')
        .selectAll()
        .where('state', '=', 'pending')
        // A replica does not heal what it is issuing itself, even when its lease lapsed meanwhile.
        .$if(self !== undefined, (q) => q.where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '!=', self!)])))
        .where((eb) => eb.or([
          eb('created_at_ms', '<', before.getTime()),
          eb('owner', '=', ''),
          eb('owner', 'in', eb.selectFrom('replica_leases').select('replica').where('expires_at_ms', '<=', now.getTime())),
        ]))
        .orderBy('created_at_ms', 'asc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    release: (id) => writes.statement(async (executor) => {
      const result = await executor.updateTable('issuances').set({ owner: '' }).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    }),

    async get(id) {
      const row = await db.selectFrom('issuances').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    },

    async list(filter, page = {}) {
      const limit = pageLimit(page.limit);
      const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, issuanceCursor);
      const rows = await db
        .selectFrom('issuances')
        .selectAll()
        .$if(filter.pipeline !== undefined, (q) => q.where('pipeline', '=', filter.pipeline!))
        .$if(filter.cluster !== undefined, (q) => q.where('cluster', '=', filter.cluster!))
        .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state!))
        .$if(filter.pipelines !== undefined, (q) => q.where('pipeline', 'in', filter.pipelines!.length ? filter.pipelines! : ['']))
        .$if(filter.states !== undefined, (q) => q.where('state', 'in', filter.states!))
        .$if(filter.holders !== undefined, (q) => q.where('holder', 'in', filter.holders!.length ? filter.holders! : ['']))
        .$if(after !== undefined, (q) =>
          q.where((eb) =>
            eb.or([
              eb('created_at_ms', '<', after![1]),
              eb.and([eb('created_at_ms', '=', after![1]), eb('id', '<', after![2])]),
            ]),
          ),
        )
        .orderBy('created_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, fromRow, (row) => ['issuance', row.created_at_ms, row.id]);
    },

    markRevoked: (id, at, by) => leaveActive(id, { state: 'revoked', revoked_at_ms: at.getTime(), revoked_by: by }),

    markExpired: (id, at) => leaveActive(id, { state: 'expired', expired_at_ms: at.getTime() }),

    async listDue(now, limit = 100) {
      const rows = await db
        .selectFrom('issuances')
        .selectAll()
        .where('state', '=', 'active')
        .where('expires_at_ms', '<=', now.getTime())
        .orderBy('expires_at_ms', 'asc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async countLive(now) {
      // A range of the (state, expires_at_ms) index: its cost is that of the live issuances alone.
      const rows = await db
        .selectFrom('issuances')
        .select(['pipeline', 'cluster', (eb) => eb.fn.countAll().as('count')])
        .where('state', '=', 'active')
        .where('expires_at_ms', '>', now.getTime())
        .groupBy(['pipeline', 'cluster'])
        .execute();
      return rows.map((r) => ({ pipeline: r.pipeline, cluster: r.cluster, count: Number(r.count) }));
    },
  };
}

function fromRow(row: IssuancesTable): Issuance {
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    id: row.id,
    pipeline: row.pipeline,
    issuer: row.issuer,
    subject: row.subject,
    cluster: row.cluster,
    namespace: row.namespace,
    serviceAccount: row.service_account,
    tokenKind: row.token_kind as TokenKind,
    kubeTokenJti: row.kube_token_jti,
    objects: JSON.parse(row.objects) as KubeObjectRef[],
    createdAt: new Date(row.created_at_ms),
    expiresAt: new Date(row.expires_at_ms),
    state: row.state as IssuanceState,
    revokedAt: date(row.revoked_at_ms),
    revokedBy: row.revoked_by,
    expiredAt: date(row.expired_at_ms),
    holder: row.holder ?? null,
    owner: row.owner ?? null,
  };
}
