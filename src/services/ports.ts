import type { LoadedPolicy } from '../policy/load.ts';
import type { PolicyStatus } from '../policy/watch.ts';

// The ports the services depend on. Implementations live in src/kube and src/policy; tests pass
// the real ones.

/** Where a cluster's API server is, as written into vended kubeconfigs. */
export interface ClusterEndpoint {
  server: string;
  /** Base64 PEM of the CA bundle that signs the API server's certificate. */
  certificateAuthorityData?: string;
}

export interface ServiceAccountTokenRequest {
  cluster: string;
  namespace: string;
  serviceAccount: string;
  ttlSeconds: number;
  audiences?: string[];
}

export interface IssuedServiceAccountToken {
  token: string;
  /** The expiry the API server actually granted, which may be shorter than asked. */
  expiresAt: Date;
  /** Warnings the API server sent with its answer. */
  warnings: string[];
}

/** The narrow set of Kubernetes verbs kubevend uses. Failures are thrown as `Problem`s. */
export interface KubeGateway {
  endpoint(cluster: string): ClusterEndpoint;
  createServiceAccountToken(request: ServiceAccountTokenRequest): Promise<IssuedServiceAccountToken>;
}

/** The policy in force; `current()` is cheap and always returns a complete, validated policy. */
export interface PolicySource {
  current(): LoadedPolicy;
  status(): PolicyStatus;
}

/** Accepts each CI token `jti` once; shared by every replica that shares the store. */
export interface ReplayGuard {
  /** True the first time (issuer, jti) is seen while the token lives; false for every later sight. */
  acceptOnce(issuer: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** Forgets a jti whose request issued nothing, so the CI job may retry with the same token. */
  release(issuer: string, jti: string): Promise<void>;
}
