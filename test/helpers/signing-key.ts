import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf, type SigningKey } from '../../src/ledger/signing-key.ts';

/** A fresh Ed25519 checkpoint key, as `openssl genpkey -algorithm ed25519` makes one. */
export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}
