import { randomFillSync } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

// The random part is drawn from a pool filled for 256 ids at a time: one call into the system's
// generator per 256 issuances rather than one each. Ids are unique, not secret.
const randomPool = new Uint8Array(16 * 256);
let poolUsed = randomPool.length;

/**
 * A 26-character, time-ordered issuance id in lowercase Crockford base32 (ULID layout), so that it
 * sorts by creation and is valid inside Kubernetes names and label values.
 */
export function newIssuanceId(now = Date.now()): string {
  let id = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) id = alphabet[t % 32] + id;
  if (poolUsed === randomPool.length) {
    randomFillSync(randomPool);
    poolUsed = 0;
  }
  for (let i = 0; i < 16; i++) id += alphabet[randomPool[poolUsed++]! % 32];
  return id;
}
