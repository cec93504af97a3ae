import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoadedPolicy } from '../src/policy/load.ts';
import { claimMismatches, claimsHold, valueMatches } from '../src/policy/match.ts';
import { pipelineSchema } from '../src/policy/schema.ts';
import { LABEL, renderName, SUBDOMAIN } from '../src/policy/template.ts';
import type { CredentialAsk } from '../src/policy/ask.ts';
import { evaluate, type Identity } from '../src/policy/decide.ts';

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
