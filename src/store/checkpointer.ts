import { Worker } from 'node:worker_threads';

// SQLite in WAL mode appends every commit to the write-ahead log and, by default, copies the log
// back into the database file from whichever commit finds it past 1,000 pages: two fsyncs and the
// copying, on the event loop, every fifty or so issuances (a millisecond or two, at times a hundred,
// measured on the store outside the bench).
// Here that checkpoint runs on a thread of its own, on a timer. With `synchronous = normal` the log
// is made durable only by a checkpoint, so the timer also bounds what a power failure could take
// (a process crash takes nothing): a commit reaches the disk within one interval, however idle the
// service is, where before it could wait in the log until 1,000 pages had gathered.

/** How often the log is checkpointed, in ms: at most this much of the newest commits is exposed to a power failure. */
export const checkpointIntervalMs = 200;

/**
 * Pages the log may hold before a commit checkpoints it itself (SQLite's default is 1,000): only a
 * backstop, for when the checkpointer cannot keep up.
 */
export const backstopPages = 10_000;

/** SQLite's own default, back in force if the checkpointer is gone. */
export const defaultAutocheckpointPages = 1_000;

// The thread's code, given inline so that it runs the same from the sources and from the build.
const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: workerData.busyTimeoutMs });
const checkpoint = db.prepare('pragma wal_checkpoint(passive)');
const run = () => {
  try {
    checkpoint.get();
  } catch {
    // Busy or failing now: the next tick tries again, and the backstop bounds the log meanwhile.
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Checkpoints once more, then stops. */
  stop(): Promise<void>;
}

/**
 * Starts checkpointing the SQLite file at `path` every `intervalMs`. `onExit` is told if the
 * thread ends before `stop`, so that the caller can checkpoint on commit again.
 */
export function startCheckpointer(path: string, options: { busyTimeoutMs: number; intervalMs?: number; onExit: (err?: Error) => void }): Checkpointer {
  const worker = new Worker(source, {
    eval: true,
    workerData: { path, busyTimeoutMs: options.busyTimeoutMs, intervalMs: options.intervalMs ?? checkpointIntervalMs },
    // Its own small heap: it holds one statement.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  // The thread never keeps the process alive; closing the store stops it.
  worker.unref();
  let stopping = false;
  let failure: Error | undefined;
  worker.on('error', (err) => {
    failure = err;
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      if (!stopping) options.onExit(failure ?? new Error('the checkpoint thread ended'));
      resolve();
    });
  });
  return {
    async stop() {
      stopping = true;
      // Held open until the thread has finished its last checkpoint.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
