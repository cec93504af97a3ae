import { Problem } from '../errors.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import { claimMismatches } from '../policy/match.ts';
import type { OperatorPolicy } from '../policy/schema.ts';
import type { CallerIdentity } from './authenticate.ts';

export type OperatorRole = OperatorPolicy['role'];

const rank: Record<OperatorRole, number> = { auditor: 1, admin: 2 };

/** The highest role any operator entry gives this identity, if any. */
export function operatorRole(policy: LoadedPolicy, identity: CallerIdentity): OperatorRole | undefined {
  let best: OperatorRole | undefined;
  for (const op of policy.operators) {
    if (op.issuer !== identity.issuer || claimMismatches(op.match, identity.claims).length) continue;
    if (!best || rank[op.role] > rank[best]) best = op.role;
  }
  return best;
}

/** Throws unless the identity holds `role` or a higher one. */
export function requireOperator(policy: LoadedPolicy, identity: CallerIdentity, role: OperatorRole): OperatorRole {
  const held = operatorRole(policy, identity);
  if (!held || rank[held] < rank[role]) throw new Problem('operator_required', `this needs the operator role "${role}"`);
  return held;
}
