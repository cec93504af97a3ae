import { checkpointSchema, signCheckpoint, type Checkpoint } from '../ledger/checkpoint.ts';
import { merkleRoot } from '../ledger/merkle.ts';
import type { SigningKey } from '../ledger/signing-key.ts';
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
}

export interface CheckpointSignerDeps extends CheckpointSignerOptions {
  store: Store;
  logger?: ServiceLogger;
  /** Told of each checkpoint signed (the audit sinks). */
  onSigned?: (checkpoint: Checkpoint) => void;
}

export const parseCheckpoint = (body: string): Checkpoint => checkpointSchema.parse(JSON.parse(body));

/**
 * Signs checkpoints every `everyRecords` records appended here or `intervalMs`, and once more on
 * stop. It signs only a ledger that extends its last checkpoint: the records since then must link
 * up from its head, so a rewrite of what was signed is refused rather than signed again. Each replica signs; one that signs a size already kept loses harmlessly.
 */
export function createCheckpointSigner(deps: CheckpointSignerDeps) {
  const { store, key, origin } = deps;
  let appended = 0;
  let running: Promise<Checkpoint | undefined> | undefined;
  let next: Promise<Checkpoint | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function signOnce(): Promise<Checkpoint | undefined> {
    const head = await store.audit.head();
    const latestBody = await store.checkpoints.latest();
    const latest = latestBody === undefined ? undefined : parseCheckpoint(latestBody);
    if (head.size === 0 || (latest && latest.size >= head.size)) return undefined;
    // After a prune past the last checkpoint, the batch starts at what is left.
    const extendsLatest = latest !== undefined && latest.size >= head.anchorId;
    const fromSize = extendsLatest ? latest.size : head.anchorId;
    // The links alone: a record rewritten at or before the last checkpoint changes every hash after
    // it, so the first record since then no longer links to the checkpoint's head. (An edit that
    // left its hash stale is the chain's to find, and a receipt of it fails.)
    const records = await store.audit.links(fromSize, head.size);
    let prevHash = extendsLatest ? latest.headHash : records[0]?.prevHash;
    for (const [i, record] of records.entries()) {
      if (record.id !== fromSize + i + 1 || record.prevHash !== prevHash) {
        throw new Error(`audit record ${fromSize + i + 1} does not extend the last signed checkpoint; not signing (run audit:verify)`);
      }
      prevHash = record.hash;
    }
    if (records.length !== head.size - fromSize || prevHash !== head.headHash) {
      throw new Error(`the audit chain's head does not match its records after ${fromSize}; not signing (run audit:verify)`);
    }
    appended = 0;
    const checkpoint = signCheckpoint({
      origin, size: head.size, headHash: head.headHash, fromSize,
      batchRoot: merkleRoot(records.map((r) => Buffer.from(r.hash, 'hex'))).toString('hex'),
      time: new Date().toISOString(),
    }, key);
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
      .catch((err: unknown) => {
        deps.logger?.error({ err: (err as Error).message }, 'audit checkpoint not signed');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const stopListening = store.audit.onAppend((records) => {
    appended += records.length;
    if (appended >= deps.everyRecords && !running) void signNow();
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
