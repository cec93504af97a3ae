import { z } from 'zod';

// Claim matchers. A value is compared exactly; a list means any of; a string with `*` is an
// anchored glob whose `*` never crosses `/` or `:`, so `acme/*` cannot match `acme/web/../x` or
// `repo:acme/web:ref:...` cannot be widened across segments.

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const claimMatcherSchema = z
  .union([scalar, z.array(scalar).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .meta({ description: 'A value, a list of values (any of), or a glob where `*` matches within one `/`- or `:`-separated segment' });

export const claimMatchersSchema = z
  .record(z.string().min(1), claimMatcherSchema)
  .meta({ description: 'Claims the identity token must carry; all must hold' });

export type ClaimMatchers = z.output<typeof claimMatchersSchema>;

export interface ClaimMismatch {
  claim: string;
  expected: string[];
  /** The token's value, or undefined when the claim is absent or not a scalar. */
  actual?: string;
}

const globCache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('[^/:]*');
    re = new RegExp(`^${body}$`, 'su');
    globCache.set(glob, re);
  }
  return re;
}

export function valueMatches(pattern: string, value: string): boolean {
  return pattern.includes('*') ? globToRegExp(pattern).test(value) : pattern === value;
}

/** A claim's value as a string, or, for array claims (groups), each element; the index reads claims the same way. */
export function claimValues(value: unknown): string[] | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** Whether a claim's value (or, for an array claim, one of its elements) matches one of `expected`. */
function matcherHolds(expected: string[], value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    const text = String(value);
    return expected.some((pattern) => valueMatches(pattern, text));
  }
  const values = claimValues(value);
  return values?.some((v) => expected.some((pattern) => valueMatches(pattern, v))) ?? false;
}

/** The matchers that do not hold for these claims; empty when all hold. */
export function claimMismatches(matchers: ClaimMatchers, claims: Record<string, unknown>): ClaimMismatch[] {
  const mismatches: ClaimMismatch[] = [];
  for (const [claim, expected] of Object.entries(matchers)) {
    if (!matcherHolds(expected, claims[claim])) {
      const values = claimValues(claims[claim]);
      mismatches.push({ claim, expected, ...(values ? { actual: values.join(',') } : {}) });
    }
  }
  return mismatches;
}

/**
 * Whether every matcher holds: `claimMismatches(...).length === 0` without building the report,
 * for the issuing path, which tries every pipeline of the policy on every request.
 */
export function claimsHold(matchers: ClaimMatchers, claims: Record<string, unknown>): boolean {
  return Object.keys(matchers).every((claim) => matcherHolds(matchers[claim]!, claims[claim]));
}
