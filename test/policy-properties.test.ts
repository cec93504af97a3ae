import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoadedPolicy } from '../src/policy/load.ts';
import { claimMismatches, claimsHold, valueMatches } from '../src/policy/match.ts';
import { pipelineSchema } from '../src/policy/schema.ts';
import { LABEL, renderName, SUBDOMAIN } from '../src/policy/template.ts';
import type { CredentialAsk } from '../src/policy/ask.ts';
import { evaluate, evaluateByScan, type Evaluation, type Identity } from '../src/policy/decide.ts';
import { globsIntersect, nameGuardProblems } from '../src/policy/name-guards.ts';
import { isTemplate } from '../src/policy/template.ts';
import type { Policy } from '../src/policy/schema.ts';

const segment = fc.string({ unit: fc.constantFrom(...'abcxyz-_.0123'.split('')), maxLength: 8 });
const anyText = fc.string({ unit: 'grapheme', maxLength: 40 });

describe('claim globs', () => {
  it('when a value has "/" or ":" where the "*" stands, then the glob never matches it', () => {
    fc.assert(fc.property(segment, segment, anyText, anyText, fc.constantFrom('/', ':'), (prefix, suffix, left, right, sep) => {
      expect(valueMatches(`${prefix}*${suffix}`, `${prefix}${left}${sep}${right}${suffix}`)).toBe(false);
    }));
  });

  it('when a value has no "/" or ":" where the "*" stands, then the glob matches it', () => {
    fc.assert(fc.property(segment, segment, anyText.map((s) => s.replace(/[/:]/g, '')), (prefix, suffix, middle) => {
      expect(valueMatches(`${prefix}*${suffix}`, `${prefix}${middle}${suffix}`)).toBe(true);
    }));
  });

  it('when a pattern has no "*", then only the identical value matches, whatever characters it holds', () => {
    fc.assert(fc.property(anyText.filter((s) => !s.includes('*')), anyText, (pattern, value) => {
      expect(valueMatches(pattern, value)).toBe(pattern === value);
      expect(valueMatches(pattern, pattern)).toBe(true);
    }));
  });

  it('when a glob is anchored, then no value with extra text before or after matches', () => {
    fc.assert(fc.property(segment, fc.string({ minLength: 1, maxLength: 5 }), (name, extra) => {
      expect(valueMatches(`acme/${name}*`, `${extra}acme/${name}`)).toBe(extra === '' );
      expect(valueMatches(`*/${name}`, `acme/${name}/${extra}`)).toBe(false);
    }));
  });
});

describe('names templated from claims', () => {
  it('when any claim value is substituted, then the result is either refused or a valid name inside the template', () => {
    fc.assert(fc.property(fc.oneof(anyText, fc.string({ unit: fc.constantFrom(...'aZ09-./_:. '.split('')), maxLength: 80 })), (value) => {
      const result = renderName('ci-{{repository_name}}-deploy', { repository_name: value }, 'label');
      if (!result.ok) return;
      expect(result.value).toBe(`ci-${value}-deploy`);
      expect(result.value).toMatch(LABEL);
      expect(result.value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(/^[a-z0-9-]*$/);
    }));
  });

  it('when a ServiceAccount name is templated, then "/", "..", uppercase and over-long values are refused', () => {
    fc.assert(fc.property(anyText, (value) => {
      const result = renderName('sa-{{x}}', { x: value }, 'subdomain');
      if (result.ok) {
        expect(result.value).toMatch(SUBDOMAIN);
        expect(result.value).not.toMatch(/\.\.|\/|[A-Z]/);
      }
    }));
    for (const bad of ['a/b', 'a..b', 'Web', 'x'.repeat(300), '', '../etc']) {
      expect(renderName('sa-{{x}}', { x: bad }, 'subdomain').ok).toBe(false);
    }
  });

  it('when a claim value itself looks like a template, then it is not expanded again', () => {
    const result = renderName('ci-{{a}}', { a: '{{b}}', b: 'web' }, 'label');
    expect(result.ok).toBe(false);
  });
});

// The issuing path decides without building explain's report; it must come to the same answer as
// the evaluation with reasons that explain uses.
describe('deciding a request', () => {
  const repo = fc.constantFrom('acme/web', 'acme/api', 'other/web', 'acme/web-2');
  const claimValue = fc.oneof(repo, fc.constantFrom('refs/heads/main', 'refs/tags/v1', 'prod'), fc.integer({ min: 0, max: 3 }), fc.constant(undefined));
  const matcher = fc.oneof(repo, fc.constantFrom('acme/*', 'acme/web*', '*', 'refs/heads/main', '1'), fc.array(repo, { minLength: 1, maxLength: 2 }));
  const grant = fc.record({
    cluster: fc.subarray(['a', 'b'], { minLength: 1 }),
    namespace: fc.constantFrom('ci', 'ci-{{repository_name}}', 'deploy'),
    serviceAccount: fc.constantFrom('deployer', 'sa-{{ref_name}}'),
    kinds: fc.subarray(['short-lived', 'durable'] as const, { minLength: 1 }),
  });
  const pipeline = (i: number) => fc.record({
    name: fc.constant(`p${i}`),
    issuer: fc.constantFrom('ci', 'other'),
    match: fc.dictionary(fc.constantFrom('repository', 'ref', 'environment', 'run_id'), matcher, { minKeys: 1, maxKeys: 2 }),
    conditions: fc.dictionary(fc.constantFrom('ref', 'environment'), matcher, { maxKeys: 1 }),
    grants: fc.array(grant, { minLength: 1, maxLength: 2 }),
  }).map((raw) => pipelineSchema.parse(raw));
  const policy = fc.tuple(pipeline(0), pipeline(1), pipeline(2)).map((pipelines) => ({
    issuers: [], operators: [], clusters: [{ name: 'a' }, { name: 'b' }], pipelines, protectedNamespaces: ['kube-system', 'default'],
  }) as unknown as LoadedPolicy);
  const claims = fc.record({ repository: claimValue, ref: claimValue, environment: claimValue, run_id: claimValue });
  const ask = fc.record({
    cluster: fc.constantFrom(undefined, 'a', 'b', 'c'),
    namespace: fc.constantFrom(undefined, 'ci', 'deploy', 'ci-web'),
    kind: fc.constantFrom(undefined, 'short-lived', 'durable'),
  }, { requiredKeys: [] }).map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as CredentialAsk);

  it('when any policy meets any claims and ask, then issuing grants what explain grants, and otherwise refuses with its denial', () => {
    fc.assert(fc.property(policy, claims, ask, fc.constantFrom('ci', 'other'), (p, c, a, issuer) => {
      const identity: Identity = { issuer, claims: Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) };
      const explained = evaluate(p, { identity, ask: a, reasons: true });
      const issued = evaluate(p, { identity, ask: a });
      expect(issued.decision ?? issued.denial).toEqual(explained.decision ?? explained.denial);
      expect(issued.matched).toEqual(explained.matched);
    }), { numRuns: 500 });
  });

  it('when claims are matched, then claimsHold says true exactly when claimMismatches finds nothing', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('repository', 'ref', 'groups'), matcher.map((m) => (Array.isArray(m) ? m : [m]))), fc.record({
      repository: claimValue, ref: claimValue, groups: fc.oneof(fc.array(repo, { maxLength: 2 }), fc.constant({ nested: true })),
    }), (m, c) => {
      expect(claimsHold(m, c)).toBe(claimMismatches(m, c).length === 0);
    }));
  });
});

// The issuing path tries only the pipelines the policy's index names for a job's claims; it must
// answer exactly as trying every pipeline in file order does, whom a refusal counts against included.
describe('deciding through the pipeline index', () => {
  const repo = fc.constantFrom('acme/web', 'acme/api', 'acme/web-2', 'other/web', 'acme/web/x', 'web', '');
  // Exact values, globs with a literal prefix, and globs starting with `*` (tried on every request).
  const pattern = fc.oneof(
    repo,
    fc.constantFrom('acme/*', 'acme/web*', 'acme/web-*', 'a*', 'refs/heads/*', 'refs/heads/main', '1', 'true', 'dev', 'ops*'),
    fc.constantFrom('*', '*/web', '*a*', '*-2'),
  );
  const matcher = fc.oneof(pattern, fc.array(pattern, { minLength: 1, maxLength: 3 }));
  const claimName = fc.constantFrom('repository', 'repository_name', 'ref', 'groups', 'run_id', 'environment');
  const grant = fc.record({
    cluster: fc.subarray(['a', 'b'], { minLength: 1 }),
    namespace: fc.constantFrom('ci', 'ci-{{repository_name}}', 'deploy'),
    serviceAccount: fc.constantFrom('deployer', 'sa-{{ref_name}}'),
  });
  const pipeline = (i: number) => fc.record({
    name: fc.constant(`p${i}`),
    issuer: fc.constantFrom('ci', 'other', 'third'),
    match: fc.dictionary(claimName, matcher, { minKeys: 1, maxKeys: 2 }),
    conditions: fc.dictionary(fc.constantFrom('ref', 'environment'), matcher, { maxKeys: 1 }),
    grants: fc.array(grant, { minLength: 1, maxLength: 2 }),
  }).map((raw) => pipelineSchema.parse(raw));
  const policy = fc.integer({ min: 0, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => pipeline(i)))).map((pipelines) => ({
    issuers: [], operators: [], clusters: [{ name: 'a' }, { name: 'b' }], pipelines, protectedNamespaces: ['kube-system'],
  }) as unknown as LoadedPolicy);
  const scalar = fc.oneof(repo, fc.constantFrom('refs/heads/main', 'refs/heads/x', 'dev', 'ops-team'), fc.integer({ min: 0, max: 2 }), fc.boolean());
  const claims = fc.record({
    repository: scalar, repository_name: scalar, ref: scalar, run_id: scalar, environment: scalar,
    groups: fc.oneof(fc.array(fc.constantFrom('dev', 'ops-team', 'acme/web'), { maxLength: 3 }), fc.constant({ nested: true }), fc.constant([1, 2])),
  }, { requiredKeys: [] });
  const ask = fc.record({ cluster: fc.constantFrom('a', 'b', 'c'), kind: fc.constantFrom('short-lived', 'durable') }, { requiredKeys: [] }) as fc.Arbitrary<CredentialAsk>;
  const comparable = (e: Evaluation) => ({ ...e, denial: e.denial && { code: e.denial.code, message: e.denial.message } });

  it('when any policy meets any claims, then the indexed decision equals trying every pipeline, with matched and the denial', () => {
    fc.assert(fc.property(policy, claims, ask, fc.constantFrom('ci', 'other', 'nobody'), fc.subarray(['p0', 'p1', 'p2', 'p3']), (p, c, a, issuer, suspended) => {
      const identity: Identity = { issuer, claims: c };
      const suspensions = { isSuspended: (name: string) => suspended.includes(name) };
      const indexed = evaluate(p, { identity, ask: a, suspensions });
      expect(comparable(indexed)).toEqual(comparable(evaluateByScan(p, { identity, ask: a, suspensions })));
    }), { numRuns: 2000 });
  });
});

const meeting = 'can render the same namespace';

/** The namespaces that may meet, as nameGuardProblems found them before it looked pairs up by prefix: every pair compared. */
function everyPairMeeting(policy: Policy): string[] {
  const problems: string[] = [];
  const shapes: { pipeline: string; path: string; clusters: string[]; templated: boolean; globs: string[] }[] = [];
  policy.pipelines.forEach((p, i) => p.grants.forEach((g, j) => g.namespace.forEach((ns, k) => {
    const path = `pipelines.${i}.grants.${j}.namespace${g.namespace.length > 1 ? `.${k}` : ''}`;
    const templated = isTemplate(ns);
    shapes.push({ pipeline: p.name, path, clusters: g.cluster, templated, globs: templated ? g.allowedNames?.namespace ?? [ns.replace(/\{\{[^}]*\}\}/g, '*')] : [ns] });
  })));
  shapes.forEach((a, i) => shapes.slice(i + 1).forEach((b) => {
    if ((!a.templated && !b.templated) || a.pipeline === b.pipeline || !a.clusters.some((c) => b.clusters.includes(c))) return;
    if (!a.globs.some((g) => b.globs.some((h) => globsIntersect(g, h)))) return;
    const [templated, other] = a.templated ? [a, b] : [b, a];
    problems.push(`${templated.path}: ${meeting} as ${other.path} (pipeline "${other.pipeline}"); ` +
      'narrow one of them with allowedNames.namespace so that they cannot meet');
  }));
  return problems;
}

describe('name guards at load', () => {
  const name = fc.constantFrom('ci', 'ci-web', 'ci-web-2', 'web', 'team-1', 'team-12', 'deploy', 'c');
  const template = fc.constantFrom('ci-{{repository_name}}', '{{repository_name}}', 'team-1-{{repository_name}}', '{{repository_name}}-ci', 'ci-{{ref_name}}-x');
  const glob = fc.constantFrom('ci-*', 'team-1*', 'team-1-*', '*-ci', '*', 'web*', 'ci-web', 'c*i');
  const grant = fc.record({
    cluster: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
    namespace: fc.array(fc.oneof(name, template), { minLength: 1, maxLength: 2 }),
    serviceAccount: fc.constant('deployer'),
    allowedNames: fc.option(fc.record({ namespace: fc.array(glob, { minLength: 1, maxLength: 2 }) }), { nil: undefined }),
  }, { requiredKeys: ['cluster', 'namespace', 'serviceAccount'] });
  const pipeline = (i: number) => fc.record({
    name: fc.constant(`p${i}`), issuer: fc.constant('ci'),
    match: fc.constantFrom({ repository: 'acme/*' }, { repository: '*' }, { repository_owner: 'acme' }),
    grants: fc.array(grant, { minLength: 1, maxLength: 2 }),
  }).map((raw) => pipelineSchema.parse(raw));
  const policy = fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => pipeline(i)))).map((pipelines) => ({
    issuers: [], operators: [], clusters: [], pipelines, protectedNamespaces: ['kube-system', 'c'],
  }) as unknown as Policy);

  it('when any policy is checked, then the namespaces found to meet by prefix are those every pair gives, in the same order', () => {
    let found = 0;
    fc.assert(fc.property(policy, (p) => {
      const expected = everyPairMeeting(p);
      found += expected.length;
      expect(nameGuardProblems(p).filter((problem) => problem.includes(meeting))).toEqual(expected);
    }), { numRuns: 1000 });
    expect(found).toBeGreaterThan(100);
  });
});
