import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from './exit.ts';

const myUid = () => process.getuid?.();

/**
 * A folder of the command's own (a job's folder, a cache, a lock's, the login's), made 0700 if
 * absent. One that exists is used only if this user owns it, it is no symlink and nobody else may
 * enter it: a co-tenant who made it first could read, swap or delete what is written in it.
 */
export async function privateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const found = await lstat(dir);
  if (!found.isDirectory() || (myUid() !== undefined && found.uid !== myUid()) || (found.mode & 0o077) !== 0) {
    throw new CliError('failed', `${dir} exists but is not a folder only this user can use; nothing was written`);
  }
  return dir;
}

/**
 * The folder of a file the caller named (--file), made 0700 if absent. It may be shared (a
 * workspace, /tmp), but only if nobody else can replace what is written there: it belongs to this
 * user or root and, if others may write in it, it has the sticky bit.
 */
export async function callersDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const found = await stat(dir);
  const owner = found.uid === 0 || myUid() === undefined || found.uid === myUid();
  if (!owner || ((found.mode & 0o022) !== 0 && (found.mode & 0o1000) === 0)) {
    throw new CliError('failed', `${dir} belongs to another user or others may replace files in it; nothing was written: name a --file in a folder of your own, or none for the job's private folder`);
  }
  return dir;
}

/** Opens a new file that no one made before and that is no symlink: mode 0600, whatever the umask. */
export async function createExclusive(path: string) {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  // The mode given to open is reduced by the umask, never widened; chmod makes it exactly 0600.
  await file.chmod(0o600);
  return file;
}

/**
 * Writes a secret (a kubeconfig, a cached credential) readable by its owner only: into a new file
 * made with mode 0600 beside the target, then renamed over it. A rename replaces a symlink at the
 * target rather than writing through it, so a link planted there cannot redirect the secret. The
 * folder is checked first (callersDir): its owner or a co-tenant who may write there could swap it.
 */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  await callersDir(dirname(path));
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await createExclusive(temporary);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/**
 * Reads a file this command wrote with writePrivateFile: undefined when it is absent, a symlink,
 * not a regular file, not the caller's own, or readable by others (another user could have written
 * it, or read it). `why` is told the reason a file that exists was not read.
 */
export async function readPrivateFile(path: string, why: (reason: string) => void = () => {}): Promise<string | undefined> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ELOOP') why(`${path} is a symlink; it is not followed`);
    else if (code !== 'ENOENT') why(`${path} cannot be read (${code})`);
    return undefined;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return void why(`${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) return void why(`${path} is readable by others; it is not used`);
    if (myUid() !== undefined && stat.uid !== myUid()) return void why(`${path} belongs to another user; it is not used`);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/**
 * An exclusive lock file in a folder checked with privateDir; one left by a process that died is
 * taken over after a minute. Answers the release.
 */
export async function lockFile(path: string, waitMs: number, sleep: (ms: number) => Promise<unknown>): Promise<() => Promise<void>> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      await (await createExclusive(path)).close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    const age = await lstat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 60_000) await rm(path, { force: true });
    else if (Date.now() > until) throw new CliError('unavailable', `another kubevend holds ${path}`);
    else await sleep(100);
  }
}
