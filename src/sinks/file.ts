import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';

export interface FileSinkOptions {
  path: string;
  /** A file reaching this size is rotated: `path` -> `path.1` -> ... -> `path.<keep>`, the oldest removed. */
  maxBytes: number;
  keep: number;
}

/** Lines appended to a file, rotated by size; each batch is one write. */
export function fileSink({ path, maxBytes, keep }: FileSinkOptions) {
  let handle: FileHandle | undefined;
  let size = 0;

  async function rotate() {
    await handle?.close();
    handle = undefined;
    await rm(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(missingIsFine);
    if (keep > 0) await rename(path, `${path}.1`).catch(missingIsFine);
    else await rm(path, { force: true });
  }

  const send = async (lines: string[]) => {
    const chunk = Buffer.from(lines.join(''));
    if (handle && size > 0 && size + chunk.length > maxBytes) await rotate();
    if (!handle) {
      handle = await open(path, 'a', 0o600);
      size = (await stat(path)).size;
    }
    try {
      await handle.write(chunk);
    } catch (err) {
      // Reopened on the next batch: the file may have been moved or its disk freed.
      await handle.close().catch(() => undefined);
      handle = undefined;
      throw err;
    }
    size += chunk.length;
  };
  return send;
}

function missingIsFine(err: NodeJS.ErrnoException) {
  if (err.code !== 'ENOENT') throw err;
}
