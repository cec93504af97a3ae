/**
 * Whether a value holds a NUL character anywhere, in a string or an object's key, nested up to a
 * depth: nothing kubevend names holds one, and PostgreSQL cannot store one in text.
 */
export function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}
