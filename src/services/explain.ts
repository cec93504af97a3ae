import { Problem } from '../errors.ts';
import type { CredentialAsk } from '../policy/ask.ts';
import { evaluate, type Evaluation, type Identity } from '../policy/decide.ts';
import type { PolicySource } from '../policy/load.ts';
import { operatorRole, requireOperator } from '../policy/operators.ts';
import type { CallerIdentity } from './authenticate.ts';
import type { SuspensionCache } from './suspension-view.ts';

/** Another identity an operator wants explained: an issuer entry's name and the claims to try. */
export interface IdentityToExplain {
  issuer: string;
  claims: Record<string, unknown>;
}

export interface Explanation extends Evaluation {
  identity: { issuer: string; subject?: string };
}

/**
 * Decides without issuing and without spending the token, on the same path as issuing. Callers
 * see only the pipelines their own identity fits the claims of; operators (auditor or admin) see
 * every pipeline, and may explain the claims of any identity.
 */
export function createExplainService({ policy, suspensions }: { policy: PolicySource; suspensions: SuspensionCache }) {
  return {
    async explain(caller: CallerIdentity, ask: CredentialAsk, other?: IdentityToExplain): Promise<Explanation> {
      const current = policy.current();
      let identity: Identity = caller;
      const operator = operatorRole(current, caller) !== undefined;
      if (other) {
        requireOperator(current, caller, 'auditor');
        if (!current.issuers.some((i) => i.name === other.issuer)) {
          throw new Problem('invalid_request', `no issuer named "${other.issuer}"`);
        }
        const subject = typeof other.claims.sub === 'string' ? other.claims.sub : undefined;
        identity = { issuer: other.issuer, claims: other.claims, ...(subject ? { subject } : {}) };
      }
      const evaluation = evaluate(current, { identity, ask, suspensions: await suspensions.current(), reasons: true });
      // What other pipelines expect is not the caller's business: it would tell an attacker which
      // claims to forge.
      const pipelines = operator ? evaluation.pipelines : evaluation.pipelines.filter((p) => p.stage !== 'issuer' && p.stage !== 'match');
      return {
        ...evaluation,
        pipelines,
        identity: { issuer: identity.issuer, ...(identity.subject ? { subject: identity.subject } : {}) },
      };
    },
  };
}

export type ExplainService = ReturnType<typeof createExplainService>;
