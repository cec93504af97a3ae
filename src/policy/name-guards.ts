import type { Policy } from './schema.ts';
import { isTemplate } from './template.ts';

// Guards on the names grants can render to, checked when a policy loads, so that a claim can never
// steer a credential into a namespace that belongs to the platform or to another pipeline.

/** Whether a rendered name matches one of the globs (`*` is any run of name characters). */
export function allowedByGlobs(globs: string[], name: string): boolean {
  return globs.some((g) => globRegExp(g).test(name));
}

const compiled = new Map<string, RegExp>();
function globRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) compiled.set(glob, (re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.]/g, '\\.')).join('.*')}$`)));
  return re;
}

/** Claims derived from a path, and the claims that pin the part of the path they drop. */
const derived: Record<string, { from: string; pinnedBy: string[] }> = {
  repository_name: { from: 'repository', pinnedBy: ['repository_owner', 'repository_owner_id'] },
  project_name: { from: 'project_path', pinnedBy: ['namespace_path', 'namespace_id'] },
};

/** Problems with the policy's names; each names the field. Empty when the policy is sound. */
export function nameGuardProblems(policy: Policy): string[] {
  const problems: string[] = [];
  const protectedSet = new Set(policy.protectedNamespaces);
  // Every namespace shape a grant can take: its template with placeholders as `*`, narrowed to its
  // allow-globs where it has them.
  const shapes: { pipeline: string; path: string; clusters: string[]; templated: boolean; globs: string[] }[] = [];
  policy.pipelines.forEach((p, i) => p.grants.forEach((g, j) => g.namespace.forEach((ns, k) => {
    const path = `pipelines.${i}.grants.${j}.namespace${g.namespace.length > 1 ? `.${k}` : ''}`;
    if (!isTemplate(ns)) {
      if (protectedSet.has(ns)) problems.push(`${path}: namespace "${ns}" is protected (protectedNamespaces)`);
      shapes.push({ pipeline: p.name, path, clusters: g.cluster, templated: false, globs: [ns] });
      return;
    }
    for (const [claim, { from, pinnedBy }] of Object.entries(derived)) {
      if (!ns.includes(claim) || ownerPinned(p.match[from], p.match, pinnedBy) || ownerPinned(p.conditions[from], p.conditions, pinnedBy)) continue;
      problems.push(`${path}: "${ns}" uses ${claim}, but the pipeline does not pin the owner of "${from}" ` +
        `(match ${from} with a literal owner, such as acme/*, or match one of ${pinnedBy.join(', ')}): ` +
        'two owners\' repositories of one name would share the namespace');
    }
    const template = ns.replace(/\{\{[^}]*\}\}/g, '*');
    shapes.push({ pipeline: p.name, path, clusters: g.cluster, templated: true, globs: g.allowedNames?.namespace ?? [template] });
  })));
  // A templated namespace of one pipeline must not be able to render a name another pipeline's
  // grant can reach: the claim of one job would hand it another pipeline's namespace.
  for (const [i, j] of pairsThatMayMeet(shapes)) {
    const [a, b] = [shapes[i]!, shapes[j]!];
    if ((!a.templated && !b.templated) || a.pipeline === b.pipeline || !a.clusters.some((c) => b.clusters.includes(c))) continue;
    if (!a.globs.some((g) => b.globs.some((h) => globsIntersect(g, h)))) continue;
    const [templated, other] = a.templated ? [a, b] : [b, a];
    problems.push(`${templated.path}: can render the same namespace as ${other.path} (pipeline "${other.pipeline}"); ` +
      'narrow one of them with allowedNames.namespace so that they cannot meet');
  }
  return problems;
}

/**
 * The pairs of shapes (i < j, in that order) with a templated one among them whose globs might meet,
 * rather than every pair: a name two globs both match begins with the literal text before each
 * one's first `*`, so one of those prefixes begins the other. A shape looks up the globs whose prefix
 * begins with its own (a range of the sorted prefixes) and those whose prefix begins its own.
 */
function* pairsThatMayMeet(shapes: { templated: boolean; globs: string[] }[]): Generator<[number, number]> {
  const everyGlob = prefixTable(shapes, () => true);
  const templatedGlobs = prefixTable(shapes, (s) => s.templated);
  for (const [i, shape] of shapes.entries()) {
    const partners = new Set<number>();
    for (const glob of shape.globs) {
      // Two literal names are never compared: a literal shape looks only at templated ones.
      for (const j of (shape.templated ? everyGlob : templatedGlobs).meeting(prefixOf(glob))) if (j > i) partners.add(j);
    }
    for (const j of [...partners].sort((a, b) => a - b)) yield [i, j];
  }
}

const prefixOf = (glob: string) => glob.split('*', 1)[0]!;

function prefixTable<S extends { globs: string[] }>(shapes: S[], keep: (shape: S) => boolean) {
  const sorted = shapes.flatMap((s, shape) => (keep(s) ? s.globs.map((g) => ({ shape, prefix: prefixOf(g) })) : []))
    .sort((x, y) => (x.prefix < y.prefix ? -1 : x.prefix > y.prefix ? 1 : 0));
  const byPrefix = new Map<string, number[]>();
  for (const { shape, prefix } of sorted) {
    const list = byPrefix.get(prefix);
    if (list) list.push(shape);
    else byPrefix.set(prefix, [shape]);
  }
  return {
    /** The shapes with a glob whose prefix begins with `prefix`, or begins it. */
    *meeting(prefix: string): Generator<number> {
      let low = 0;
      for (let high = sorted.length; low < high;) {
        const mid = (low + high) >>> 1;
        if (sorted[mid]!.prefix < prefix) low = mid + 1;
        else high = mid;
      }
      for (let k = low; k < sorted.length && sorted[k]!.prefix.startsWith(prefix); k++) yield sorted[k]!.shape;
      for (let length = 0; length < prefix.length; length++) yield* byPrefix.get(prefix.slice(0, length)) ?? [];
    },
  };
}

function ownerPinned(matcher: string[] | undefined, all: Record<string, string[]>, pinnedBy: string[]): boolean {
  if (pinnedBy.some((claim) => all[claim]?.every((v) => !v.includes('*')))) return true;
  return !!matcher && matcher.every((v) => v.includes('/') && !v.slice(0, v.lastIndexOf('/')).includes('*'));
}

/** Whether some string matches both globs (`*` any run of characters): a walk over both patterns. */
export function globsIntersect(a: string, b: string): boolean {
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (i < a.length && a[i] === '*') result = walk(i + 1, j) || (j < b.length && walk(i, j + 1));
    else if (j < b.length && b[j] === '*') result = walk(i, j + 1) || (i < a.length && walk(i + 1, j));
    else result = i < a.length && j < b.length && a[i] === b[j] && walk(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return walk(0, 0);
}
