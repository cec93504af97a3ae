import type { PipelinePolicy } from './schema.ts';
import { claimValues } from './match.ts';

// Which pipelines a request's claims could match, without trying every pipeline of a large policy.
// Each pipeline is filed under one claim of its `match`: by each exact value, or by the literal
// text before the `*` of each glob (a value a glob matches begins with it). A pipeline whose every
// claim has a glob starting with `*` is tried on every request of its issuer. The candidates are
// only a narrowing: decide.ts still tries each in full, in file order, so the first pipeline that
// fits is the one a scan over every pipeline would find.

interface ClaimEntries {
  exact: Map<string, number[]>;
  prefix: Map<string, number[]>;
  /** The lengths of the prefixes filed, shortest first: the only slices of a value worth looking up. */
  prefixLengths: number[];
}

interface IssuerEntries {
  byClaim: Map<string, ClaimEntries>;
  /** Positions of the pipelines filed under no claim. */
  always: number[];
}

/** The pipelines of a loaded policy by issuer and claim; positions are indexes into its `pipelines`. */
export type PipelineIndex = Map<string, IssuerEntries>;

/** How narrowly a claim's matchers file a pipeline: exact values best, then longer glob prefixes. */
function selectivity(patterns: string[]): number {
  return Math.min(...patterns.map((p) => (p.includes('*') ? p.indexOf('*') : Infinity)));
}

export function indexPipelines(pipelines: PipelinePolicy[]): PipelineIndex {
  const index: PipelineIndex = new Map();
  pipelines.forEach((pipeline, position) => {
    let entries = index.get(pipeline.issuer);
    if (!entries) index.set(pipeline.issuer, (entries = { byClaim: new Map(), always: [] }));
    let best: [string, string[]] | undefined;
    for (const [claim, patterns] of Object.entries(pipeline.match)) {
      if (!best || selectivity(patterns) > selectivity(best[1])) best = [claim, patterns];
    }
    if (!best || selectivity(best[1]) === 0) {
      entries.always.push(position);
      return;
    }
    const [claim, patterns] = best;
    let byValue = entries.byClaim.get(claim);
    if (!byValue) entries.byClaim.set(claim, (byValue = { exact: new Map(), prefix: new Map(), prefixLengths: [] }));
    for (const pattern of new Set(patterns)) {
      const star = pattern.indexOf('*');
      const [map, key] = star < 0 ? [byValue.exact, pattern] : [byValue.prefix, pattern.slice(0, star)];
      const filed = map.get(key);
      // Two globs of one claim may share a prefix (acme/a*, acme/a*-b): the pipeline is filed once.
      if (!filed) map.set(key, [position]);
      else if (filed.at(-1) !== position) filed.push(position);
      if (star > 0 && !byValue.prefixLengths.includes(star)) byValue.prefixLengths.push(star);
    }
    byValue.prefixLengths.sort((a, b) => a - b);
  });
  return index;
}

// A loaded policy is never changed in place (a reload builds a new one), so its index is built once.
const built = new WeakMap<PipelinePolicy[], PipelineIndex>();

export function pipelineIndexOf(pipelines: PipelinePolicy[]): PipelineIndex {
  let index = built.get(pipelines);
  if (!index) built.set(pipelines, (index = indexPipelines(pipelines)));
  return index;
}

/**
 * Positions of the pipelines of this issuer whose `match` these claims could satisfy, ascending
 * (file order). Every pipeline that does match is among them.
 */
export function candidatePositions(index: PipelineIndex, issuer: string, claims: Record<string, unknown>): number[] {
  const entries = index.get(issuer);
  if (!entries) return [];
  const found: number[][] = entries.always.length ? [entries.always] : [];
  for (const [claim, byValue] of entries.byClaim) {
    for (const value of claimValues(claims[claim]) ?? []) {
      const exact = byValue.exact.get(value);
      if (exact) found.push(exact);
      for (const length of byValue.prefixLengths) {
        if (length > value.length) break;
        const prefixed = byValue.prefix.get(value.slice(0, length));
        if (prefixed) found.push(prefixed);
      }
    }
  }
  if (found.length <= 1) return found[0] ?? [];
  const merged = found.flat().sort((a, b) => a - b);
  return merged.filter((position, i) => i === 0 || merged[i - 1] !== position);
}
