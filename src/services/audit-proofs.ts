import { Problem } from '../errors.ts';
import type { Checkpoint } from '../ledger/checkpoint.ts';
import { createSecretKey } from 'node:crypto';
import { makeReceipt, receiptKeyMatches, type Receipt } from '../ledger/receipt.ts';
import { publicKeyPem, type PublicKeys } from '../ledger/signing-key.ts';
import { verifyCheckpoint, type CheckpointVerification } from '../ledger/verify.ts';
import { requireOperator } from '../policy/operators.ts';
import type { PolicySource } from '../policy/load.ts';
import type { AuditRecord, Store } from '../store/ports.ts';
import type { CallerIdentity } from './authenticate.ts';
import { parseCheckpoint } from './audit-checkpoints.ts';

/** Receipts worked on at once (past the key check): a refusal for the rest, rather than a server that stalls. */
const maxReceiptsAtOnce = 4;
const keptBatches = 4;

export interface AuditProofDeps {
  policy: PolicySource;
  store: Store;
  /** The key receipt keys are made with (receiptKey): the token fingerprints' key, under a label of its own. */
  fingerprintKey: Buffer;
  /** Every key a checkpoint here may be signed with, the current one included; none: no signing. */
  auditKeys?: PublicKeys;
  /** How often checkpoints are signed at the latest: a receipt not ready yet is asked for again after it. */
  checkpointIntervalMs?: number;
  /** Signs a checkpoint of the ledger as it is now (the signer's), so that a receipt need not wait for the next. */
  signNow?: () => Promise<unknown>;
}

/**
 * Signed checkpoints, the keys that verify them and receipts. The checkpoint and the keys are public
 * (a size and hashes); a receipt holds a record, so it is given only for the record's receipt key.
 * Verifying the ledger against a checkpoint reads it whole, so it is for operators.
 */
export function createAuditProofs({ policy, store, fingerprintKey, auditKeys, checkpointIntervalMs = 10_000, signNow }: AuditProofDeps) {
  const receiptSecret = createSecretKey(fingerprintKey);
  // A batch's hashes are read once and kept for the few batches asked for last: receipts come in
  // soon after their issuances, so they are mostly for the newest checkpoints.
  const batches = new Map<number, Promise<string[]>>();
  async function batchOf(checkpoint: Checkpoint): Promise<string[]> {
    const kept = batches.get(checkpoint.size);
    if (kept) return kept;
    const read = store.audit.links(checkpoint.fromSize, checkpoint.size).then((links) => links.map((l) => l.hash));
    batches.set(checkpoint.size, read);
    if (batches.size > keptBatches) batches.delete(batches.keys().next().value!);
    return read.catch((err: unknown) => {
      batches.delete(checkpoint.size);
      throw err;
    });
  }
  let working = 0;
  async function bounded<T>(work: () => Promise<T>): Promise<T> {
    if (working >= maxReceiptsAtOnce) throw new Problem('overloaded', 'too many receipts are being made; retry shortly', { retryAfter: 1 });
    working += 1;
    try {
      return await work();
    } finally {
      working -= 1;
    }
  }
  async function makeReceiptOf(record: AuditRecord, view: (record: AuditRecord) => Receipt['record']): Promise<Receipt> {
    const covering = async () => auditKeys && (await store.checkpoints.covering(record.id));
    // Not in a checkpoint yet: one is signed now (signings asked for meanwhile share it).
    const body = (await covering()) ?? (signNow && (await signNow(), await covering()));
    if (!body) {
      if (!auditKeys) throw new Problem('checkpoint_not_found', 'no signing key is configured (KUBEVEND_AUDIT_SIGNING_KEY_FILE)');
      throw new Problem('receipt_pending', `record ${record.id} is not in a signed checkpoint yet`, { retryAfter: Math.ceil(checkpointIntervalMs / 1000) });
    }
    const checkpoint = parseCheckpoint(body);
    return makeReceipt(record, view(record), checkpoint, await batchOf(checkpoint));
  }

  return {
    async latest(): Promise<Checkpoint> {
      const body = auditKeys && (await store.checkpoints.latest());
      if (!body) throw new Problem('checkpoint_not_found', auditKeys ? 'nothing has been recorded since signing began' : 'no signing key is configured (KUBEVEND_AUDIT_SIGNING_KEY_FILE)');
      return parseCheckpoint(body);
    },

    keys: () => [...(auditKeys ?? new Map()).entries()].map(([keyId, key]) => ({ keyId, publicKey: publicKeyPem(key) })),

    async verify(caller: CallerIdentity, checkpoint: Checkpoint): Promise<CheckpointVerification> {
      requireOperator(policy.current(), caller, 'auditor');
      return verifyCheckpoint(store.audit, checkpoint, auditKeys ?? new Map());
    },

    /** The receipt of record `id`, to whoever holds its receipt key (only the answer to its issuance carries it). */
    async receipt(id: number, key: string, view: (record: AuditRecord) => Receipt['record']): Promise<Receipt> {
      const record = await store.audit.get(id);
      if (!record || !receiptKeyMatches(receiptSecret, record, key)) throw new Problem('receipt_not_found', `no audit record ${id} with that receipt key`);
      return bounded(async () => makeReceiptOf(record, view));
    },
  };
}

export type AuditProofs = ReturnType<typeof createAuditProofs>;
