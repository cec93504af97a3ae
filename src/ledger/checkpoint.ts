import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { PublicKeys, SigningKey } from './signing-key.ts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');

/**
 * A signed statement of the ledger's state: its first `size` records chain to `headHash`, and the
 * records after the checkpoint before it (`fromSize`) have the Merkle tree head `batchRoot`.
 */
export const checkpointSchema = z.object({
  origin: z.string().min(1).max(200).describe('The installation that signed it (KUBEVEND_INSTANCE)'),
  size: z.number().int().min(0).describe('Records the ledger had ever held: the id of the last one'),
  headHash: sha256Hex.describe('The chain hash of record `size`'),
  fromSize: z.number().int().min(0).describe('The size of the checkpoint before; the batch is the records after it'),
  batchRoot: sha256Hex.describe('RFC 9162 Merkle tree head over the chain hashes of records fromSize+1 to size'),
  time: z.iso.datetime(),
  keyId: z.string().min(1).max(100).describe('Which public key verifies it (GET /v1/audit/keys)'),
  signature: z.string().min(1).max(200).describe('Ed25519 over the checkpoint\'s text form, base64'),
}).refine((c) => c.fromSize <= c.size, { message: 'fromSize must not exceed size', path: ['fromSize'] });

export type Checkpoint = z.infer<typeof checkpointSchema>;

export type UnsignedCheckpoint = Omit<Checkpoint, 'keyId' | 'signature'>;

/** The exact text that is signed: one field a line, in a fixed order, so no parser can disagree. */
export function checkpointText(c: Omit<Checkpoint, 'signature'>): string {
  return [
    'kubevend audit checkpoint v1', `origin ${c.origin}`, `size ${c.size}`, `head ${c.headHash}`,
    `from ${c.fromSize}`, `batch-root ${c.batchRoot}`, `time ${c.time}`, `key ${c.keyId}`, '',
  ].join('\n');
}

export function signCheckpoint(fields: UnsignedCheckpoint, key: SigningKey): Checkpoint {
  const unsigned = { ...fields, keyId: key.keyId };
  return { ...unsigned, signature: sign(null, Buffer.from(checkpointText(unsigned)), key.privateKey).toString('base64') };
}

export type SignatureCheck = { ok: true } | { ok: false; problem: 'unknown_key' | 'signature_invalid'; detail: string };

/** Whether one of `keys` signed the checkpoint as it stands. */
export function checkCheckpointSignature(c: Checkpoint, keys: PublicKeys): SignatureCheck {
  const key = keys.get(c.keyId);
  if (!key) return { ok: false, problem: 'unknown_key', detail: `no public key is known for key id ${c.keyId}` };
  const valid = verify(null, Buffer.from(checkpointText(c)), key, Buffer.from(c.signature, 'base64'));
  return valid ? { ok: true } : { ok: false, problem: 'signature_invalid', detail: `the signature does not match the checkpoint under key ${c.keyId}` };
}
