import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fromAuditRow } from './audit-rows.ts';
import type { AuditRecord, ChainPoint, ChainVerification } from './ports.ts';
import type { Database } from './schema.ts';

// The tamper-evident part of the ledger: how a record's hash is made, and the walk that checks it.

type HashedFields = Omit<AuditRecord, 'prevHash' | 'hash'>;

/**
 * Every field but the hashes, as JSON with object keys sorted and absent values dropped: the same
 * text whichever engine stored the record and in whatever order its fields were written.
 */
export function canonicalRecord(record: HashedFields): string {
  const fields: Record<string, unknown> = { ...record, time: record.time.toISOString() };
  delete fields.prevHash;
  delete fields.hash;
  return canonicalJson(fields);
}

export function recordHash(prevHash: string, record: HashedFields): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalRecord(record)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (canonicalJson(value[i]) ?? '');
    return `${out}]`;
  }
  // Keys in UTF-16 code unit order, which is what the default sort compares.
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

const batchSize = 500;
const short = (hash: string) => hash.slice(0, 12);

/**
 * Walks the records from the prune anchor to the chain head, in id order, in batches; with
 * `extending`, the chain must pass through that point too. Neither the anchor nor the head is
 * trusted on its own: a record below the anchor fails, and a signed point at or after the anchor is
 * reached only by recomputing every hash from it.
 */
export async function verifyChain(db: Kysely<Database>, extending?: ChainPoint): Promise<ChainVerification> {
  // The head row and the lowest and highest record ids in one statement, so one snapshot on either
  // engine: a prune or an append between two reads would otherwise look like records outside it.
  const chain = await db.selectFrom('audit_chain').selectAll()
    .select((eb) => eb.selectFrom('audit_records').select((r) => r.fn.min('id').as('m')).as('first_id'))
    .select((eb) => eb.selectFrom('audit_records').select((r) => r.fn.max('id').as('m')).as('top_id'))
    .where('id', '=', 1).executeTakeFirstOrThrow();
  const firstId = chain.first_id === null ? undefined : Number(chain.first_id);
  const topId = chain.top_id === null ? undefined : Number(chain.top_id);
  let expectedId = chain.anchor_id + 1;
  let prevHash = chain.anchor_hash;
  let count = 0;
  const broken = (recordId: number, problem: Exclude<ChainVerification, { ok: true }>['problem'], detail: string) =>
    ({ ok: false, count, recordId, problem, detail }) as const;
  // The anchor is the database's own word, so nothing may hide behind it: a prune deletes the
  // records it moves past in the same transaction, and any left there were never verified.
  if (firstId !== undefined && firstId <= chain.anchor_id) {
    return broken(firstId, 'below_anchor', `records from ${firstId} lie at or below the prune anchor ${chain.anchor_id}, outside the chain that is checked`);
  }
  // Records past the head, as when the head is moved back onto a signed point with records after it
  // left in place: listed like any other, and checked by nothing.
  if (topId !== undefined && topId > chain.last_id) {
    return broken(chain.last_id + 1, 'outside_chain', `records up to ${topId} lie past the chain's head ${chain.last_id}, outside the chain that is checked`);
  }
  if (extending) {
    // A ledger cut back below a signed size, or a checkpoint of some other ledger.
    if (extending.size > chain.last_id) {
      return broken(chain.last_id, 'shorter_than_checkpoint', `the ledger holds ${chain.last_id} records, the checkpoint ${extending.size}`);
    }
    if (extending.size < chain.anchor_id) {
      return broken(extending.size, 'checkpoint_pruned', `records up to ${chain.anchor_id} were pruned: verify against a later checkpoint`);
    }
    const atAnchor = extending.size === chain.anchor_id && prevHash !== extending.headHash;
    if (atAnchor) return broken(extending.size, 'checkpoint_differs', `the chain's anchor is ${short(prevHash)}, the checkpoint's head ${short(extending.headHash)}`);
  }

  while (expectedId <= chain.last_id) {
    const rows = await db
      .selectFrom('audit_records')
      .selectAll()
      .where('id', '>=', expectedId)
      .where('id', '<=', chain.last_id)
      .orderBy('id', 'asc')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const record = fromAuditRow(row);
      if (record.id !== expectedId) return broken(expectedId, 'missing', `record ${expectedId} is missing`);
      if (record.prevHash !== prevHash) {
        return broken(record.id, 'link_broken', `prev_hash ${short(record.prevHash)} is not the hash before it, ${short(prevHash)}`);
      }
      const hash = recordHash(prevHash, record);
      if (hash !== record.hash) {
        return broken(record.id, 'content_changed', `its fields hash to ${short(hash)}, not the stored ${short(record.hash)}`);
      }
      if (row.claim_repository !== (record.claims.repository ?? null) || row.claim_project !== (record.claims.project ?? null)) {
        return broken(record.id, 'content_changed', 'its repository or project column differs from its claims');
      }
      if (record.id === extending?.size && hash !== extending.headHash) {
        return broken(record.id, 'checkpoint_differs', `it hashes to ${short(hash)}, the signed checkpoint says ${short(extending.headHash)}: the chain was rewritten at or before it`);
      }
      prevHash = record.hash;
      expectedId += 1;
      count += 1;
    }
  }
  if (expectedId <= chain.last_id) return broken(expectedId, 'missing', `records ${expectedId} to ${chain.last_id} are missing`);
  if (prevHash !== chain.head_hash) {
    return broken(chain.last_id, 'head_mismatch', `the chain head is ${short(chain.head_hash)}, the last record hashes to ${short(prevHash)}`);
  }
  // Verifying nothing is no pass while there are records: they lie beyond the head the walk trusted.
  if (count === 0 && firstId !== undefined) return broken(firstId, 'outside_chain', `record ${firstId} is not between the anchor and the head`);
  return { ok: true, count };
}
