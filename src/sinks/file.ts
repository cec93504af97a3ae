import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface FileSinkOptions {
  path: string;
  /** A file reaching this size is rotated: `path` -> `path.1` -> ... -> `path.<keep>`, the oldest removed. */
  maxBytes: number;
  keep: number;
}

/**
 * Lines appended to a file, rotated by size; each batch is one write. Written synchronously: an
 * append of a few lines to the page cache takes microseconds, and a fail-closed credential then
 * waits for no round trip through the thread pool (which cost an issuance a third more CPU).
 */
export function fileSink({ path, maxBytes, keep }: FileSinkOptions) {
  let fd: number | undefined;
  let size = 0;

  function rotate() {
    closeSync(fd!);
    fd = undefined;
    rmSync(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) renameIfThere(`${path}.${i}`, `${path}.${i + 1}`);
    if (keep > 0) renameIfThere(path, `${path}.1`);
    else rmSync(path, { force: true });
  }

  return async (lines: string[]) => {
    const chunk = Buffer.from(lines.join(''));
    if (fd !== undefined && size > 0 && size + chunk.length > maxBytes) rotate();
    if (fd === undefined) {
      fd = openSync(path, 'a', 0o600);
      size = fstatSync(fd).size;
    }
    try {
      writeSync(fd, chunk);
    } catch (err) {
      // Reopened on the next batch: the file may have been moved or its disk freed.
      closeSync(fd);
      fd = undefined;
      throw err;
    }
    size += chunk.length;
  };
}

function renameIfThere(from: string, to: string) {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
