import type { ServiceLogger } from '../services/ports.ts';

export type SinkMode = 'fail-closed' | 'best-effort';

/**
 * A fail-closed sink that did not take a line: the caller must not hand out what it records. Its
 * message names the sink and a fixed reason only: what the transport said (a URL, a path, an
 * address) stays in this process's log, redacted.
 */
export class SinkFailure extends Error {}

/** A transport's error text for the log: no user or password of any URL in it. */
export const redacted = (text: string) => text.replace(/\/\/[^/\s@]*@/g, '//***@');

export interface SinkQueueOptions {
  name: string;
  mode: SinkMode;
  /** Lines held while the sink is slow or down; past it, new lines are dropped (and counted). */
  maxBuffer: number;
  /** Lines one write takes at most. */
  batchSize: number;
  /** Writes a batch of whole lines (each ends in a newline); throws when they were not taken. */
  send: (lines: string[]) => Promise<void>;
  logger?: ServiceLogger;
  onDropped?: (sink: string, count: number) => void;
  /** First wait before a failed batch is sent again; it doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

interface Entry {
  line: string;
  settle?: { resolve: () => void; reject: (err: Error) => void };
}

/**
 * One sink's buffer: lines are written in order, in batches of what accumulated while the previous
 * write was under way, and a failed batch is sent again with backoff until it is taken. A
 * fail-closed sink answers each line once it is written, and refuses at once while it is down
 * (the line is still kept and sent once it is back); a best-effort one never makes a caller wait.
 */
export function createSinkQueue(options: SinkQueueOptions) {
  const { name, mode, maxBuffer, batchSize, send, logger } = options;
  const firstBackoff = options.backoffMs ?? 250;
  const entries: Entry[] = [];
  let sending = false;
  let retry: NodeJS.Timeout | undefined;
  let backoff = firstBackoff;
  let down = false;
  let closed = false;
  const drop = (count: number) => count > 0 && options.onDropped?.(name, count);
  const failure = (why: string) => new SinkFailure(`audit sink ${name} ${why}`);

  // Lines pushed in the same turn (a group commit's records arrive one microtask apart) go out in
  // one write: a write per record was most of what a fail-closed file sink cost an issuance.
  let scheduled = false;
  function kickSoon() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      kick();
    });
  }

  function kick() {
    if (sending || retry || entries.length === 0) return;
    sending = true;
    const batch = entries.slice(0, batchSize);
    send(batch.map((e) => e.line)).then(() => {
      entries.splice(0, batch.length);
      for (const e of batch) e.settle?.resolve();
      if (down) logger?.info({ sink: name }, 'audit sink taking records again');
      [down, backoff, sending] = [false, firstBackoff, false];
      kick();
    }, (err: unknown) => {
      if (!down) logger?.warn({ sink: name, err: redacted(String((err as Error).message)), buffered: entries.length }, 'audit sink failed; its records are kept and sent again');
      down = true;
      // Nobody waits on a sink that is down: each caller is refused now, the lines stay.
      for (const e of entries) e.settle?.reject(failure('is down'));
      for (const e of entries) delete e.settle;
      sending = false;
      if (closed) return;
      retry = setTimeout(() => {
        retry = undefined;
        kick();
      }, backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5_000);
    });
  }

  return {
    name,
    mode,
    /** Queues one line; for a fail-closed sink, resolves once it is written and rejects with a SinkFailure when it will not be soon. */
    push(line: string): Promise<void> {
      if (entries.length >= maxBuffer) {
        drop(1);
        return mode === 'fail-closed' ? Promise.reject(failure(`buffer is full (${maxBuffer} records)`)) : Promise.resolve();
      }
      if (mode === 'best-effort' || down) {
        entries.push({ line });
        kickSoon();
        return down && mode === 'fail-closed' ? Promise.reject(failure('is down')) : Promise.resolve();
      }
      const written = new Promise<void>((resolve, reject) => entries.push({ line, settle: { resolve, reject } }));
      kickSoon();
      return written;
    },
    /** Lines not yet taken. */
    buffered: () => entries.length,
    /** Sends what is buffered, for up to `withinMs`; what is left then is dropped and counted. */
    async close(withinMs = 5_000) {
      const until = Date.now() + withinMs;
      while (entries.length > 0 && Date.now() < until) {
        if (retry) {
          clearTimeout(retry);
          retry = undefined;
        }
        kick();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      closed = true;
      clearTimeout(retry);
      if (entries.length) logger?.warn({ sink: name, dropped: entries.length }, 'audit sink closed with records it did not take');
      drop(entries.length);
      for (const e of entries.splice(0)) e.settle?.reject(failure('closed'));
    },
  };
}

export type SinkQueue = ReturnType<typeof createSinkQueue>;
