import { Problem } from '../errors.ts';
import type { Authenticator, CallerIdentity } from './authenticate.ts';
import { evaluate, type CredentialAsk, type Evaluation } from './evaluate.ts';
import { requireOperator } from './operators.ts';
import type { PolicySource } from './ports.ts';

/** Another identity an operator wants explained: an issuer entry's name and the claims to try. */
export interface IdentityToExplain {
  issuer: string;
  claims: Record<string, unknown>;
}

export interface Explanation extends Evaluation {
  identity: { issuer: string; subject?: string };
}

/**
 * Decides without issuing and without spending the token. Callers explain their own token;
 * operators (auditor or admin) may explain the claims of any identity.
 */
export function createExplainService({ policy, authenticator }: { policy: PolicySource; authenticator: Authenticator }) {
  return {
    async explain(token: string | undefined, ask: CredentialAsk, other?: IdentityToExplain): Promise<Explanation> {
      const caller = await authenticator.verify(token);
      const current = policy.current();
      let identity: CallerIdentity = caller;
      if (other) {
        requireOperator(current, caller, 'auditor');
        if (!current.issuers.some((i) => i.name === other.issuer)) {
          throw new Problem('invalid_request', `no issuer named "${other.issuer}"`);
        }
        const subject = typeof other.claims.sub === 'string' ? other.claims.sub : undefined;
        identity = { issuer: other.issuer, claims: other.claims, expiresAt: caller.expiresAt, ...(subject ? { subject } : {}) };
      }
      return {
        identity: { issuer: identity.issuer, ...(identity.subject ? { subject: identity.subject } : {}) },
        ...evaluate(current, identity, ask),
      };
    },
  };
}

export type ExplainService = ReturnType<typeof createExplainService>;
