import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The key that signs checkpoints, and the id a verifier finds its public half under. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Public keys by key id: the current one and any that signed earlier checkpoints. */
export type PublicKeys = ReadonlyMap<string, KeyObject>;

export class KeyFileError extends Error {}

/** A key's id: a digest of its public half, so the same key has the same id wherever it is loaded. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('base64url').slice(0, 16)}`;
}

/**
 * Reads an Ed25519 private key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it). The
 * errors name the file and what is wrong with it, never its contents.
 */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new KeyFileError(`${file}: cannot read the signing key (${err.code ?? err.message})`);
  });
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new KeyFileError(`${file}: not a private key in PEM (expected an Ed25519 key: openssl genpkey -algorithm ed25519)`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyFileError(`${file}: the signing key is ${privateKey.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519`);
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** Every Ed25519 public key in a PEM text (one or more `PUBLIC KEY` blocks), by key id. */
export function parsePublicKeys(pem: string, source: string): Map<string, KeyObject> {
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new KeyFileError(`${source}: no PEM public key found`);
  const keys = new Map<string, KeyObject>();
  for (const [i, block] of blocks.entries()) {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch {
      throw new KeyFileError(`${source}: public key ${i + 1} cannot be read`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new KeyFileError(`${source}: public key ${i + 1} is ${key.asymmetricKeyType}, not Ed25519`);
    keys.set(keyIdOf(key), key);
  }
  return keys;
}

export async function loadPublicKeys(file: string): Promise<Map<string, KeyObject>> {
  const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new KeyFileError(`${file}: cannot read the public keys (${err.code ?? err.message})`);
  });
  return parsePublicKeys(pem, file);
}

/** PEM of a public key, for `GET /v1/audit/keys` and for saving beside checkpoints. */
export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
