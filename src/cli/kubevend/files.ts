import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a secret (a kubeconfig, a cached credential) readable by its owner only: into a new file
 * made with mode 0600 beside the target, then renamed over it. A rename replaces a symlink at the
 * target rather than writing through it, so a link planted there cannot redirect the secret.
 */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // The mode given to open is reduced by the umask, never widened; chmod makes it exactly 0600.
    await file.chmod(0o600);
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
    if (process.getuid && stat.uid !== process.getuid()) return void why(`${path} belongs to another user; it is not used`);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}
