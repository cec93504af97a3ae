import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { recordHash } from '../store/audit-chain.ts';
import type { AuditRecord } from '../store/ports.ts';
import { checkCheckpointSignature, checkpointSchema, type Checkpoint } from './checkpoint.ts';
import { inclusionProof, rootFromInclusionProof } from './merkle.ts';
import type { PublicKeys } from './signing-key.ts';

/**
 * A receipt: one audit record as the API shows it, the signed checkpoint whose batch holds it, and
 * the RFC 9162 inclusion proof from the record's chain hash to that batch's Merkle tree head. Its
 * leaf is record `id` - `fromSize` - 1 of a tree of `size` - `fromSize` leaves.
 */
export const receiptSchema = z.object({
  record: z.looseObject({ id: z.number().int().min(1), time: z.iso.datetime(), prevHash: z.string(), hash: z.string() })
    .describe('The audit record (AuditRecord), every field as the ledger hashed it'),
  checkpoint: checkpointSchema,
  proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(64).describe('The inclusion proof, leaf to root, hex'),
}).meta({ id: 'AuditReceipt' });

export type Receipt = z.infer<typeof receiptSchema>;

export type ReceiptVerification =
  | { ok: true; recordId: number; checkpointSize: number }
  | { ok: false; recordId: number; problem: 'unknown_key' | 'signature_invalid' | 'record_changed' | 'not_in_batch' | 'proof_invalid'; detail: string };

/**
 * The secret that opens record `id`'s receipt: an HMAC of the record under a key of the server's,
 * handed only to the caller its issuance answered. A record's id and hash open nothing: the public
 * checkpoint names the head, and every record names the hash of the one before it.
 */
export function receiptKey(secret: KeyObject, record: { id: number; hash: string }): string {
  return createHmac('sha256', secret).update(`kubevend receipt v1\n${record.id}\n${record.hash}`).digest('base64url');
}

/** Whether `given` is record's receipt key, in time that does not depend on how much of it matches. */
export function receiptKeyMatches(secret: KeyObject, record: { id: number; hash: string }, given: string): boolean {
  const [expected, actual] = [Buffer.from(receiptKey(secret, record)), Buffer.from(given)];
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Builds the receipt of `record` from its checkpoint and the chain hashes of that checkpoint's batch. */
export function makeReceipt(record: AuditRecord, view: Receipt['record'], checkpoint: Checkpoint, batchHashes: string[]): Receipt {
  const proof = inclusionProof(batchHashes.map((h) => Buffer.from(h, 'hex')), record.id - checkpoint.fromSize - 1);
  return { record: view, checkpoint, proof: proof.map((p) => p.toString('hex')) };
}

/**
 * Checks a receipt with nothing but public keys: the checkpoint is signed by one of them, the record
 * hashes to its own `hash`, and that hash is a leaf of the checkpoint's batch. What it proves: the
 * ledger, as signed at that checkpoint, held this record exactly; holding the ledger to the
 * checkpoint later is `verifyCheckpoint`'s job.
 */
export function verifyReceipt(receipt: Receipt, keys: PublicKeys): ReceiptVerification {
  const { record, checkpoint } = receipt;
  const fail = (problem: Exclude<ReceiptVerification, { ok: true }>['problem'], detail: string) => ({ ok: false, recordId: record.id, problem, detail }) as const;
  const signature = checkCheckpointSignature(checkpoint, keys);
  if (!signature.ok) return fail(signature.problem, signature.detail);
  const fields = { ...record, time: new Date(record.time) } as unknown as AuditRecord;
  if (recordHash(record.prevHash, fields) !== record.hash) return fail('record_changed', 'the record\'s fields do not hash to its hash');
  if (!(record.id > checkpoint.fromSize && record.id <= checkpoint.size)) {
    return fail('not_in_batch', `record ${record.id} is not among records ${checkpoint.fromSize + 1} to ${checkpoint.size} of the checkpoint`);
  }
  const root = rootFromInclusionProof(record.id - checkpoint.fromSize - 1, checkpoint.size - checkpoint.fromSize, Buffer.from(record.hash, 'hex'),
    receipt.proof.map((p) => Buffer.from(p, 'hex')));
  if (root?.toString('hex') !== checkpoint.batchRoot) return fail('proof_invalid', 'the inclusion proof does not lead to the checkpoint\'s batch root');
  return { ok: true, recordId: record.id, checkpointSize: checkpoint.size };
}
