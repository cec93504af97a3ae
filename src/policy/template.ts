import { z } from 'zod';

// Names templated from claims: `ci-{{repository_name}}`. Substitution is a single pass (a claim
// value is never itself expanded) and the result is validated again as a Kubernetes name, so a
// claim can never steer a grant outside the shape its template allows.

const placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type NameKind = 'label' | 'subdomain';

const limits: Record<NameKind, { re: RegExp; max: number; what: string }> = {
  label: { re: LABEL, max: 63, what: 'an RFC 1123 label (lowercase letters, digits, "-"; at most 63)' },
  subdomain: { re: SUBDOMAIN, max: 253, what: 'an RFC 1123 subdomain (lowercase letters, digits, "-", "."; at most 253)' },
};

/**
 * Claims derived for templating, so that names need no string functions. A derived claim is always
 * derived, never taken from the token: a token carrying its own `repository_name` would otherwise
 * name another repository's namespace past the owner pinned on `repository`.
 */
export function templateClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const view: Record<string, unknown> = { ...claims };
  delete view.repository_name;
  delete view.project_name;
  if (typeof claims.repository === 'string') view.repository_name = claims.repository.split('/').at(-1);
  if (typeof claims.project_path === 'string') view.project_name = claims.project_path.split('/').at(-1);
  return view;
}

export function isTemplate(value: string): boolean {
  return value.includes('{{');
}

/** A name or name template: literal names must already be valid; templates are checked after rendering. */
export function nameOrTemplateSchema(kind: NameKind) {
  const { re, max, what } = limits[kind];
  return z.string().min(1).refine((v) => {
    if (!isTemplate(v)) return re.test(v) && v.length <= max;
    // The literal parts of a template must themselves be name characters.
    return /^[a-z0-9.{}\s_A-Za-z-]+$/.test(v) && v.replace(placeholder, 'x').match(/[{}]/) === null;
  }, `must be ${what}, or a template such as ci-{{repository_name}}`);
}

export type RenderResult = { ok: true; value: string } | { ok: false; reason: string };

export function renderName(template: string, claims: Record<string, unknown>, kind: NameKind): RenderResult {
  let missing: string | undefined;
  const value = template.replace(placeholder, (_, claim: string) => {
    const v = claims[claim];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    missing ??= claim;
    return '';
  });
  if (missing) return { ok: false, reason: `claim "${missing}" needed by "${template}" is absent or not a string` };
  const { re, max, what } = limits[kind];
  if (value.length > max || !re.test(value)) {
    return { ok: false, reason: `"${template}" renders to a value that is not ${what}` };
  }
  return { ok: true, value };
}
