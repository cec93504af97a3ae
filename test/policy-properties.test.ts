import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valueMatches } from '../src/policy/match.ts';
import { LABEL, renderName, SUBDOMAIN } from '../src/policy/template.ts';

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
