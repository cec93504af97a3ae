import { Problem } from '../errors.ts';
import { claimsView, pipelineFits, type Identity } from './decide.ts';
import type { LoadedPolicy } from './load.ts';
import { claimsHold } from './match.ts';
import type { OperatorPolicy } from './schema.ts';

export type OperatorRole = OperatorPolicy['role'];

const rank: Record<OperatorRole, number> = { auditor: 1, admin: 2 };

/** The highest role any operator entry gives this identity, judged on the same claims view as pipelines. */
export function operatorRole(policy: LoadedPolicy, identity: Identity): OperatorRole | undefined {
  const claims = claimsView(identity);
  let best: OperatorRole | undefined;
  for (const op of policy.operators) {
    if (op.issuer !== identity.issuer || !claimsHold(op.match, claims)) continue;
    if (!best || rank[op.role] > rank[best]) best = op.role;
  }
  return best;
}

/** Throws unless the identity holds `role` or a higher one. */
export function requireOperator(policy: LoadedPolicy, identity: Identity, role: OperatorRole): OperatorRole {
  const held = operatorRole(policy, identity);
  if (!held || rank[held] < rank[role]) throw new Problem('operator_required', `this needs the operator role "${role}"`);
  return held;
}

/** What an issuance records of whom it was issued to. */
export interface HolderRecord {
  pipeline: string;
  issuer: string;
  subject: string;
}

export type IssuanceAction = 'read' | 'revoke' | 'rotate';

/**
 * The holder rule, for every route that acts on an issuance: the holder is the identity it was
 * issued to (same issuer, same non-empty subject) that still fits its pipeline. Operators may read
 * everything and admins revoke anything; rotating hands out a new credential, so only the holder may.
 */
export function mayActOn(policy: LoadedPolicy, caller: Identity, issuance: HolderRecord, action: IssuanceAction): boolean {
  if (action !== 'rotate') {
    const role = operatorRole(policy, caller);
    if (role === 'admin' || (role && action === 'read')) return true;
  }
  return isHolder(policy, caller, issuance);
}

export function isHolder(policy: LoadedPolicy, caller: Identity, issuance: HolderRecord): boolean {
  // A token without `sub` cannot be told apart from another job's: only operators act on its issuances.
  if (!caller.subject || caller.subject !== issuance.subject || caller.issuer !== issuance.issuer) return false;
  const pipeline = policy.pipelines.find((p) => p.name === issuance.pipeline);
  return !!pipeline && pipelineFits(pipeline, caller);
}

/**
 * What a non-operator may list: its own issuances (issuer and subject) of the pipelines it fits.
 * Undefined for operators, who see all.
 */
export function holderScope(policy: LoadedPolicy, caller: Identity): { issuer: string; subject: string; pipelines: string[] } | undefined {
  if (operatorRole(policy, caller)) return undefined;
  const claims = claimsView(caller);
  const pipelines = policy.pipelines.filter((p) => pipelineFits(p, caller, claims)).map((p) => p.name);
  return { issuer: caller.issuer, subject: caller.subject ?? '', pipelines: caller.subject ? pipelines : [] };
}
