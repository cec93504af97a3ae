import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError } from './config.ts';

const MIN_BYTES = 32;

/**
 * The key of token fingerprints. A configured file wins; beside an embedded SQLite database one is
 * made on first start (mode 0600) so that zero set-up still gives stable fingerprints. Several
 * replicas on PostgreSQL must share one, so there it must be configured.
 */
export async function loadFingerprintKey(file: string | undefined, databaseUrl: string): Promise<Buffer> {
  if (file) {
    const key = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`KUBEVEND_FINGERPRINT_KEY_FILE: cannot read ${file} (${err.code ?? 'error'})`);
    });
    if (key.length < MIN_BYTES) throw new ConfigError(`KUBEVEND_FINGERPRINT_KEY_FILE: ${file} holds fewer than ${MIN_BYTES} bytes`);
    return key;
  }
  if (databaseUrl === 'sqlite::memory:') return randomBytes(MIN_BYTES);
  if (!databaseUrl.startsWith('sqlite://')) {
    throw new ConfigError('KUBEVEND_FINGERPRINT_KEY_FILE: required with PostgreSQL, so that every replica fingerprints alike');
  }
  const beside = `${decodeURIComponent(databaseUrl.slice('sqlite://'.length))}.fingerprint-key`;
  try {
    return await readFile(beside);
  } catch {
    const key = randomBytes(MIN_BYTES);
    await writeFile(beside, key, { mode: 0o600, flag: 'wx' }).catch(async () => key);
    return readFile(beside);
  }
}
