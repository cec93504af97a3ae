import { z } from 'zod';
import type { Kysely } from 'kysely';
import { recordHash, verifyChain } from './audit-chain.ts';
import { fromAuditRow, selectAudit, toAuditRow } from './audit-rows.ts';
import type { Engine } from './open.ts';
import { decodeCursor, maxPageLimit, pageLimit, pageOf } from './page.ts';
import type { AuditLedger, AuditRecord, AuditRecordInput } from './ports.ts';
import { preparedInsert, preparedQuery } from './prepared.ts';
import type { AuditChainTable, Database } from './schema.ts';
import type { Writes } from './write-batch.ts';

const auditCursor = z.tuple([z.literal('audit'), z.number().int().positive()]);

/**
 * The ledger, and the one way for the store's other parts to change state with a record: in the
 * record's transaction, under the chain's lock (grants.ts, suspensions.ts).
 */
export type LedgerWithChanges = AuditLedger & {
  appendWith(inputs: AuditRecordInput[], change: (trx: Kysely<Database>) => Promise<void>): Promise<AuditRecord[]>;
};

export function createAuditLedger(db: Kysely<Database>, engine: Engine, writes: Writes): LedgerWithChanges {
  // Appends and prunes hold the chain head's lock for their whole transaction, so they serialise
  // across every process sharing the database. On SQLite the transaction itself is BEGIN IMMEDIATE
  // (see node-sqlite.ts), which already excludes every other writer.
  const selectChain = preparedQuery<never, AuditChainTable>(db, () =>
    db
      .selectFrom('audit_chain')
      .selectAll()
      .where('id', '=', 1)
      .$if(engine === 'postgres', (q) => q.forUpdate()),
  );
  const lockChain = async (trx: Kysely<Database>) => {
    const [chain] = (await selectChain({}, trx)).rows;
    if (!chain) throw new Error('the audit chain head is missing');
    return chain;
  };
  const insertRecord = preparedInsert(db, 'audit_records');
  const moveHead = preparedQuery<'lastId' | 'headHash'>(db, (param) =>
    db.updateTable('audit_chain').set({ last_id: param('lastId'), head_hash: param('headHash') }).where('id', '=', 1),
  );

  /** Links `inputs` onto the chain, in order, within `trx` (whose lock on the head it takes, unless given). */
  async function appendIn(trx: Kysely<Database>, inputs: AuditRecordInput[], locked?: AuditChainTable): Promise<AuditRecord[]> {
    const chain = locked ?? (await lockChain(trx));
    const records: AuditRecord[] = [];
    let [lastId, headHash] = [chain.last_id, chain.head_hash];
    for (const input of inputs) {
      // Ids are handed out under the lock: they grow in commit order, so keyset paging never
      // skips a record that commits late.
      const fields = normalise(lastId + 1, input);
      const record: AuditRecord = { ...fields, prevHash: headHash, hash: recordHash(headHash, fields) };
      await insertRecord(toAuditRow(record), trx);
      records.push(record);
      [lastId, headHash] = [record.id, record.hash];
    }
    await moveHead({ lastId, headHash }, trx);
    return records;
  }

  const listeners = new Set<(records: AuditRecord[]) => void>();
  const committed = (records: AuditRecord[]) => {
    for (const listener of listeners) listener(records);
    return records;
  };

  const ledger: LedgerWithChanges = {
    append: async (input) => committed(await writes.transaction((trx) => appendIn(trx, [input])))[0]!,

    verify: (extending) => verifyChain(db, extending),

    appendWith: async (inputs, change) =>
      committed(await writes.transaction(async (trx) => {
        // The chain's lock first: every change made with a record is ordered by it, across
        // processes, and sees what changes committed before it.
        const chain = await lockChain(trx);
        await change(trx);
        return appendIn(trx, inputs, chain);
      })),

    onAppend(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    async head() {
      const chain = await db.selectFrom('audit_chain').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
      return { size: chain.last_id, headHash: chain.head_hash, anchorId: chain.anchor_id };
    },

    async links(afterId, upToId) {
      const rows = await db.selectFrom('audit_records').select(['id', 'prev_hash', 'hash'])
        .where('id', '>', afterId).where('id', '<=', upToId).orderBy('id', 'asc').execute();
      return rows.map((row) => ({ id: row.id, prevHash: row.prev_hash, hash: row.hash }));
    },

    async get(id) {
      const row = await db.selectFrom('audit_records').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromAuditRow(row);
    },

    prune: (olderThan) =>
      writes.transaction(async (trx) => {
        const chain = await lockChain(trx);
        // Only a prefix of the chain goes, up to the first record to keep, so what is left still
        // links up: the anchor keeps the hash of the last record removed.
        const firstKept = await trx
          .selectFrom('audit_records')
          .select((eb) => eb.fn.min('id').as('id'))
          .where('time_ms', '>=', olderThan.getTime())
          .executeTakeFirst();
        const lastRemoved = (firstKept?.id ?? chain.last_id + 1) - 1;
        if (lastRemoved <= chain.anchor_id) return 0;
        const anchor = await trx.selectFrom('audit_records').select('hash').where('id', '=', lastRemoved).executeTakeFirst();
        if (!anchor) throw new Error(`audit record ${lastRemoved} is missing: verify the chain before pruning`);
        const removed = await trx.deleteFrom('audit_records').where('id', '<=', lastRemoved).executeTakeFirst();
        await trx.updateTable('audit_chain').set({ anchor_id: lastRemoved, anchor_hash: anchor.hash }).where('id', '=', 1).execute();
        return Number(removed.numDeletedRows);
      }),

    async list(filter, page = {}) {
      const limit = pageLimit(page.limit);
      const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor, auditCursor)[1];
      const rows = await selectAudit(db, filter)
        .$if(before !== undefined, (q) => q.where('id', '<', before!))
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, fromAuditRow, (row) => ['audit', row.id]);
    },

    async *stream(filter) {
      let cursor: string | undefined;
      do {
        const page = await ledger.list(filter, { ...(cursor ? { cursor } : {}), limit: maxPageLimit });
        yield* page.items;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },
  };
  return ledger;
}

/** Every field present, JSON parts as they will read back, so the hash made now verifies later. */
function normalise(id: number, input: AuditRecordInput): Omit<AuditRecord, 'prevHash' | 'hash'> {
  const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  return {
    id,
    time: input.time ?? new Date(),
    requestId: input.requestId ?? null,
    kind: input.kind,
    outcome: input.outcome,
    reasonCode: input.reasonCode ?? null,
    reason: input.reason ?? null,
    clientAddress: input.clientAddress ?? null,
    issuer: input.issuer ?? null,
    claims: json(input.claims ?? {}),
    pipeline: input.pipeline ?? null,
    grant: input.grant ?? null,
    cluster: input.cluster ?? null,
    namespace: input.namespace ?? null,
    serviceAccount: input.serviceAccount ?? null,
    objects: json(input.objects ?? []),
    requestedTtlSeconds: input.requestedTtlSeconds ?? null,
    actualTtlSeconds: input.actualTtlSeconds ?? null,
    audiences: json(input.audiences ?? []),
    tokenKind: input.tokenKind ?? null,
    kubeTokenJti: input.kubeTokenJti ?? null,
    tokenFingerprint: input.tokenFingerprint ?? null,
    issuanceId: input.issuanceId ?? null,
  };
}
