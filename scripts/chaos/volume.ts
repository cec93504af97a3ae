import { execFile } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// A small file system of its own for SQLite's directory, so that filling it is a real ENOSPC for
// kubevend and nobody else: a tmpfs where mounting one is allowed, otherwise an ext4 image on a loop
// device.

export interface Volume {
  path: string;
  /** What it is, for the report. */
  kind: string;
  release(): Promise<void>;
}

export async function smallVolume(dir: string, mb: number): Promise<Volume> {
  const path = join(dir, 'volume');
  await mkdir(path, { recursive: true });
  const unmount = async () => {
    await run('umount', ['-l', path]).catch(() => {});
  };
  const refusals: string[] = [];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0700`, 'tmpfs', path]);
    return { path, kind: `a ${mb} MB tmpfs`, release: unmount };
  } catch (err) {
    refusals.push(`mount -t tmpfs: ${(err as Error).message.trim()}`);
  }
  const image = join(dir, 'volume.img');
  try {
    await run('truncate', ['-s', `${mb}M`, image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, path]);
    return { path, kind: `a ${mb} MB ext4 image on a loop device`, release: async () => { await unmount(); await rm(image, { force: true }); } };
  } catch (err) {
    refusals.push(`loop-mounted ext4: ${(err as Error).message.trim()}`);
  }
  throw new Error(`no small volume could be made: ${refusals.join('; ')}`);
}

/** Writes a file until the volume has not one byte left; `remove` gives the space back. */
export async function fill(path: string): Promise<{ mb: number; remove: () => Promise<void> }> {
  const file = join(path, 'filler');
  const handle = await open(file, 'w');
  let written = 0;
  try {
    // Big writes first, then ever smaller ones, down to single bytes.
    for (let size = 1 << 20; size >= 1; size >>= 1) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          written += (await handle.write(chunk)).bytesWritten;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
    await handle.sync().catch(() => {});
  } finally {
    await handle.close();
  }
  return { mb: Math.round(written / 2 ** 20 * 10) / 10, remove: () => rm(file) };
}
