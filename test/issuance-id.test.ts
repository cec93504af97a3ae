import { describe, expect, it } from 'vitest';
import { newIssuanceId } from '../src/services/issuance-id.ts';

describe('issuance ids', () => {
  it('when many are made, then each is 26 lowercase Crockford base32 characters, and none repeats', () => {
    // More than one pool of random bytes (256 ids), so that refilling it is crossed many times.
    const ids = Array.from({ length: 10_000 }, () => newIssuanceId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The random part spreads over the whole alphabet at every position.
    for (let position = 10; position < 26; position++) expect(new Set(ids.map((id) => id[position])).size).toBe(32);
  });

  it('when made at later times, then they sort after the earlier ones', () => {
    const times = [0, 1, 31, 32, Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T00:00:00.001Z'), 2 ** 48 - 1];
    const ids = times.map((time) => newIssuanceId(time));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.slice(0, 10)).toBe('0000000000');
    expect(ids.at(-1)!.slice(0, 10)).toBe('7zzzzzzzzz');
  });
});
