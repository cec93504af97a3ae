import type { AuditLedger, ChainVerification } from '../store/ports.ts';
import { checkCheckpointSignature, type Checkpoint } from './checkpoint.ts';
import type { PublicKeys } from './signing-key.ts';

export type CheckpointVerification =
  | ChainVerification
  | { ok: false; count: 0; recordId: number; problem: 'unknown_key' | 'signature_invalid'; detail: string };

/**
 * Proves that the ledger still extends a checkpoint saved earlier: the checkpoint is signed by one
 * of `keys`, and the chain, intact from its anchor to its head, passes through the checkpoint's
 * head. A ledger rewritten at or before the checkpoint's size fails, however well its chain was
 * recomputed, as does one cut back below it.
 */
export async function verifyCheckpoint(ledger: Pick<AuditLedger, 'verify'>, checkpoint: Checkpoint, keys: PublicKeys): Promise<CheckpointVerification> {
  const signature = checkCheckpointSignature(checkpoint, keys);
  if (!signature.ok) return { ok: false, count: 0, recordId: checkpoint.size, problem: signature.problem, detail: signature.detail };
  return ledger.verify({ size: checkpoint.size, headHash: checkpoint.headHash });
}
