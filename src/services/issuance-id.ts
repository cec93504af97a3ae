import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A 26-character, time-ordered issuance id in lowercase Crockford base32 (ULID layout), so that it
 * sorts by creation and is valid inside Kubernetes names and label values.
 */
export function newIssuanceId(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32] + time;
  const random = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return time + random;
}
