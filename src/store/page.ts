import { z } from 'zod';
import { Problem } from '../errors.ts';

// Keyset pagination: a cursor is the sort key of the last item handed out, tagged with what it
// pages through, so that paging stays exact while new rows arrive. Opaque to callers.

export const defaultPageLimit = 100;
export const maxPageLimit = 500;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultPageLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageLimit) {
    throw new Problem('invalid_request', `limit must be a whole number from 1 to ${maxPageLimit}, not ${limit}`);
  }
  return limit;
}

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key in `cursor`, or a 400 `cursor_invalid` for anything this store did not hand out. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Problem('cursor_invalid', 'The cursor is not one that this listing handed out');
  return parsed.data;
}

/** The first `limit` rows, and a cursor when the query (asked for `limit + 1`) found more. */
export function pageOf<R, T>(rows: R[], limit: number, item: (row: R) => T, key: (row: R) => readonly unknown[]) {
  const kept = rows.slice(0, limit);
  return {
    items: kept.map(item),
    nextCursor: rows.length > limit ? encodeCursor(key(kept.at(-1)!)) : null,
  };
}
