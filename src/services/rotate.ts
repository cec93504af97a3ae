import { Problem } from '../errors.ts';
import type { PolicySource } from '../policy/load.ts';
import { mayActOn } from '../policy/operators.ts';
import type { Store } from '../store/ports.ts';
import type { RequestContext } from './audit-facts.ts';
import type { Authenticator, CallerIdentity } from './authenticate.ts';
import type { CredentialService, IssuedCredential } from './issue-credentials.ts';
import type { RevocationService } from './revoke.ts';

/**
 * Rotation, for durable tokens above all: the holder of an issuance gets a new one for the same
 * cluster, namespace and kind (decided afresh by the policy in force), and the old one is revoked
 * once the new one is in hand.
 */
export function createRotationService(deps: { policy: PolicySource; store: Store; authenticator: Authenticator; credentials: CredentialService; revocations: RevocationService }) {
  return {
    async rotate(caller: CallerIdentity, id: string, context: RequestContext): Promise<IssuedCredential> {
      const old = await deps.store.issuances.get(id);
      if (!old || old.state !== 'active' || !mayActOn(deps.policy.current(), caller, old, 'rotate')) {
        throw new Problem('issuance_not_found', `no active issuance "${id}" that the caller may rotate`);
      }
      const fresh = await deps.credentials.issueFor(caller, { cluster: old.cluster, namespace: old.namespace, kind: old.tokenKind }, undefined, context, { spend: true });
      await deps.revocations.retire(old, caller, context);
      return fresh;
    },
  };
}

export type RotationService = ReturnType<typeof createRotationService>;
