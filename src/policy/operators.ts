import { createHash } from 'node:crypto';
import { Problem } from '../errors.ts';
import { claimsView, pipelineFits, type Identity } from './decide.ts';
import type { LoadedPolicy } from './load.ts';
import { claimsHold } from './match.ts';
import type { OperatorPolicy, PipelinePolicy } from './schema.ts';

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
  holder: string | null;
}

/**
 * The identity an issuance is issued to, as a key: the issuer, `sub` and pipeline, and the values
 * of the claims the pipeline matches on, read from the claims view. `sub` alone is not enough:
 * CI systems let it be shaped (GitHub's `repository_owner:acme`), so that repositories share one.
 */
export function holderKey(pipeline: PipelinePolicy, identity: Identity, claims = claimsView(identity)): string {
  const matched = Object.keys(pipeline.match).toSorted().map((claim) => [claim, claims[claim] ?? null]);
  return createHash('sha256').update(JSON.stringify([identity.issuer, identity.subject ?? '', pipeline.name, matched])).digest('base64url');
}

export type IssuanceAction = 'read' | 'revoke' | 'rotate';

/**
 * The holder rule, for every route that acts on an issuance: the holder is the identity it was
 * issued to (the same holder key) that still fits its pipeline. Operators may read
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
  const pipeline = policy.pipelines.find((p) => p.name === issuance.pipeline);
  if (!pipeline || issuance.holder === null) return false;
  const claims = claimsView(caller);
  return pipelineFits(pipeline, caller, claims) && holderKey(pipeline, caller, claims) === issuance.holder;
}

/**
 * What a non-operator may list: what it holds, in the pipelines it fits (their names and its holder
 * key in each). Undefined for operators, who see all.
 */
export function holderScope(policy: LoadedPolicy, caller: Identity): { pipelines: string[]; holders: string[] } | undefined {
  if (operatorRole(policy, caller)) return undefined;
  const claims = claimsView(caller);
  const fitting = policy.pipelines.filter((p) => pipelineFits(p, caller, claims));
  return { pipelines: fitting.map((p) => p.name), holders: fitting.map((p) => holderKey(p, caller, claims)) };
}
