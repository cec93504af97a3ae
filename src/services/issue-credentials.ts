import { randomUUID } from 'node:crypto';
import type { Authenticator } from './authenticate.ts';
import { decide, type CredentialAsk } from './evaluate.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import type { KubeGateway, PolicySource } from './ports.ts';

export interface IssuedCredential {
  issuanceId: string;
  pipeline: string;
  cluster: string;
  namespace: string;
  serviceAccount: string;
  expiresAt: Date;
  kubeconfig: string;
  warnings: string[];
}

export interface CredentialServiceDeps {
  policy: PolicySource;
  kube: KubeGateway;
  authenticator: Authenticator;
}

/** Authenticates the CI token, decides by policy and issues a short-lived ServiceAccount token. */
export function createCredentialService({ policy, kube, authenticator }: CredentialServiceDeps) {
  return {
    async issue(ciToken: string | undefined, ask: CredentialAsk): Promise<IssuedCredential> {
      const identity = await authenticator.authenticate(ciToken);
      try {
        const decision = decide(policy.current(), identity, ask);
        const endpoint = kube.endpoint(decision.cluster);
        const issued = await kube.createServiceAccountToken({
          cluster: decision.cluster,
          namespace: decision.namespace,
          serviceAccount: decision.serviceAccount,
          ttlSeconds: decision.ttlSeconds,
          ...(decision.audiences ? { audiences: decision.audiences } : {}),
        });
        return {
          issuanceId: randomUUID(),
          pipeline: decision.pipeline,
          cluster: decision.cluster,
          namespace: decision.namespace,
          serviceAccount: decision.serviceAccount,
          expiresAt: issued.expiresAt,
          warnings: issued.warnings,
          kubeconfig: renderKubeconfig([
            { cluster: decision.cluster, endpoint, namespace: decision.namespace, user: decision.serviceAccount, token: issued.token },
          ]),
        };
      } catch (err) {
        // Nothing was issued: the CI job may retry with the same token.
        await authenticator.release(identity);
        throw err;
      }
    },
  };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
