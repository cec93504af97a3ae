import { checkCheckpointSignature, checkpointSchema, signCheckpoint, type Checkpoint } from '../ledger/checkpoint.ts';
import { merkleRoot } from '../ledger/merkle.ts';
import { createSignerState, type SignedPoint } from '../ledger/signer-state.ts';
import type { PublicKeys, SigningKey } from '../ledger/signing-key.ts';
import type { Store } from '../store/ports.ts';
import type { ServiceLogger } from './ports.ts';

export interface CheckpointSignerOptions {
  key: SigningKey;
  /** The installation's name, signed into every checkpoint. */
  origin: string;
  /** Sign once this many records were appended here since the last checkpoint. */
  everyRecords: number;
  /** ... and at least this often while the ledger grows. */
  intervalMs: number;
  /** Where the signer keeps the last point it signed, outside the database (none: in memory only). */
  stateFile?: string;
  /** At most this many records in one checkpoint's batch (10,000 unless set). */
  maxBatchRecords?: number;
}

export interface CheckpointSignerDeps extends CheckpointSignerOptions {
  store: Store;
  logger?: ServiceLogger;
  /** Told of each checkpoint signed (the audit sinks). */
  onSigned?: (checkpoint: Checkpoint) => void;
  /** Keys whose checkpoints in the database count as signed (earlier keys too); the signer's own unless set. */
  trustedKeys?: PublicKeys;
  /** Told after each signing whether it was refused (the ledger does not extend what was signed). */
  onRefused?: (refused: boolean) => void;
}

export const parseCheckpoint = (body: string): Checkpoint => checkpointSchema.parse(JSON.parse(body));

/**
 * Signs checkpoints every `everyRecords` records appended here or `intervalMs`, and once more on
 * stop. It signs only a ledger that extends what it last signed, remembered outside the database,
 * and the latest checkpoint a known key signed: the records since must link up from its head, so a
 * rewrite of what was signed is refused rather than signed again, even with the checkpoints
 * deleted; no size gets two heads and batches never start further back. Each replica signs; one
 * that signs a size already kept loses harmlessly.
 */
export function createCheckpointSigner(deps: CheckpointSignerDeps) {
  const { store, key, origin } = deps;
  let appended = 0;
  let running: Promise<Checkpoint | undefined> | undefined;
  let next: Promise<Checkpoint | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const state = createSignerState(deps.stateFile);
  const maxBatch = deps.maxBatchRecords ?? 10_000;
  const trusted: PublicKeys = deps.trustedKeys ?? new Map([[key.keyId, key.publicKey]]);

  /** The latest checkpoint the database holds, if one of the known keys signed it; anything else is the database's word. */
  async function storedLatest(): Promise<SignedPoint | undefined> {
    const body = await store.checkpoints.latest();
    if (body === undefined) return undefined;
    const checkpoint = parseCheckpoint(body);
    const signature = checkCheckpointSignature(checkpoint, trusted);
    if (signature.ok) return checkpoint;
    deps.logger?.error({ size: checkpoint.size, problem: signature.problem }, 'the latest stored audit checkpoint is not signed by a known key; ignored');
    return undefined;
  }

  async function signOnce(): Promise<Checkpoint | undefined> {
    // Counted from before the head is read: a record appended after that read is left for the next signing.
    appended = 0;
    const head = await store.audit.head();
    const own = await state.last();
    const stored = await storedLatest();
    // The furthest point signed: this signer's own, or a later one another replica signed.
    const base = stored && (!own || stored.size > own.size) ? stored : own;
    if (base && base.size > head.size) throw new Error(`the ledger holds ${head.size} records, fewer than the ${base.size} signed; not signing (run audit:verify)`);
    if (base?.size === head.size) {
      if (base.headHash !== head.headHash) throw new Error(`the ledger's head at ${head.size} is not the one signed for that size; not signing (run audit:verify)`);
      return undefined;
    }
    if (head.size === 0) return undefined;
    // The prune anchor is the database's word: past what was signed, nothing signed backs it, and a
    // batch started there would vouch for whatever chain was hung from it.
    if (base && base.size < head.anchorId) {
      throw new Error(`records ${base.size + 1} to ${head.anchorId} were pruned before they were signed; not signing (run audit:verify)`);
    }
    if (own && own !== base && own.size > head.anchorId) await passesThrough(own);
    // The first signing of a ledger starts at what is left of it; after that, batches only go forward.
    let from: { size: number; headHash?: string } = base ?? { size: head.anchorId };
    let signed: Checkpoint | undefined;
    // In batches of at most `maxBatch` records, so that a ledger signed for the first time costs
    // bounded memory and a receipt's proof a bounded tree.
    while (from.size < head.size) {
      const to = Math.min(head.size, from.size + maxBatch);
      const batch = await linksUp(from, to);
      const headHash = batch.at(-1)!;
      if (to === head.size && headHash !== head.headHash) {
        throw new Error(`the audit chain's head does not match its records after ${from.size}; not signing (run audit:verify)`);
      }
      signed = await publish(from.size, batch);
      from = { size: to, headHash };
    }
    return signed;
  }

  /** The ledger still holds the point this signer signed itself, though another replica signed since. */
  async function passesThrough(point: SignedPoint): Promise<void> {
    const [record] = await store.audit.links(point.size - 1, point.size);
    if (record?.hash !== point.headHash) throw new Error(`audit record ${point.size} is not the one this signer signed; not signing (run audit:verify)`);
  }

  /**
   * Checks that the records after `from` up to `to` link up from its head (from what is left after a
   * prune when there is none) and returns their hashes. The links alone: a record rewritten
   * at or before a signed point changes every hash after it, so the first record since then no
   * longer links to it. (An edit that left its hash stale is the chain's to find.)
   */
  async function linksUp(from: { size: number; headHash?: string }, to: number): Promise<string[]> {
    const records = await store.audit.links(from.size, to);
    let prevHash = from.headHash ?? records[0]?.prevHash;
    for (const [i, record] of records.entries()) {
      if (record.id !== from.size + i + 1 || record.prevHash !== prevHash) {
        throw new Error(`audit record ${from.size + i + 1} does not extend the last signed checkpoint; not signing (run audit:verify)`);
      }
      prevHash = record.hash;
    }
    if (records.length !== to - from.size || prevHash === undefined) throw new Error(`audit records ${from.size + 1} to ${to} are missing; not signing (run audit:verify)`);
    return records.map((r) => r.hash);
  }

  async function publish(fromSize: number, batch: string[]): Promise<Checkpoint> {
    const [size, headHash] = [fromSize + batch.length, batch.at(-1)!];
    const checkpoint = signCheckpoint({
      origin, size, headHash, fromSize, batchRoot: merkleRoot(batch.map((h) => Buffer.from(h, 'hex'))).toString('hex'), time: new Date().toISOString(),
    }, key);
    await state.remember({ size, headHash });
    await store.checkpoints.save(checkpoint.size, checkpoint.fromSize, JSON.stringify(checkpoint));
    deps.logger?.info({ checkpoint }, 'audit checkpoint signed');
    deps.onSigned?.(checkpoint);
    return checkpoint;
  }

  /**
   * Signs now, or once the signing under way is done (which may have read the head too early);
   * callers meanwhile share that next one. Failures are logged once, with what was refused.
   */
  function signNow(): Promise<Checkpoint | undefined> {
    if (running) {
      next ??= running.then(() => {
        next = undefined;
        return signNow();
      });
      return next;
    }
    running = signOnce()
      .then((checkpoint) => (deps.onRefused?.(false), checkpoint))
      .catch((err: unknown) => {
        deps.logger?.error({ err: (err as Error).message }, 'audit checkpoint not signed');
        deps.onRefused?.(true);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const stopListening = store.audit.onAppend((records) => {
    appended += records.length;
    // While a signing runs, this queues the one after it (signNow shares a single next).
    if (appended >= deps.everyRecords) void signNow();
  });

  return {
    signNow,
    start() {
      timer = setInterval(() => void signNow(), deps.intervalMs);
      timer.unref();
    },
    /** Stops the schedule and signs what was appended since the last checkpoint. */
    async stop() {
      clearInterval(timer);
      stopListening();
      await next;
      await signNow();
    },
  };
}

export type CheckpointSigner = ReturnType<typeof createCheckpointSigner>;
