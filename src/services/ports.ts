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
  /** The Secret the token is bound to: deleting it revokes the token at the API server. */
  boundSecret?: { name: string; uid: string };
}

export interface IssuedServiceAccountToken {
  token: string;
  /** The expiry the API server actually granted, which may be shorter than asked. */
  expiresAt: Date;
  /** Warnings the API server sent with its answer. */
  warnings: string[];
}

export type ManagedKind = 'Secret' | 'ServiceAccount' | 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';

/** A manifest kubevend creates: plain Kubernetes JSON, built by the services. */
export interface KubeManifest {
  apiVersion: string;
  kind: ManagedKind;
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; blockOwnerDeletion?: boolean }[];
  };
  [field: string]: unknown;
}

export interface ObjectRef {
  kind: ManagedKind;
  name: string;
  namespace?: string;
  /** When set, the object is deleted only if it is still this one. */
  uid?: string;
}

export interface ManagedObject extends Required<Omit<ObjectRef, 'namespace'>> {
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: Date;
}

/** The narrow set of Kubernetes verbs kubevend uses. Failures are thrown as `Problem`s. */
export interface KubeGateway {
  endpoint(cluster: string): ClusterEndpoint;
  createServiceAccountToken(request: ServiceAccountTokenRequest): Promise<IssuedServiceAccountToken>;
  /** Creates the object and answers its uid. */
  create(cluster: string, manifest: KubeManifest): Promise<{ uid: string; resourceVersion: string }>;
  /** Deletes the object; false when it was already gone. */
  delete(cluster: string, ref: ObjectRef): Promise<boolean>;
  /**
   * Every object of this kind, in all namespaces, that carries the label selector, a page at a time:
   * a page is fetched when the one before has been dealt with.
   */
  list(cluster: string, kind: ManagedKind, labelSelector: string): AsyncIterable<ManagedObject[]>;
  /**
   * Waits, by watching, until the token controller fills a `kubernetes.io/service-account-token`
   * Secret created at `resourceVersion`; answers the token.
   */
  waitForSecretToken(cluster: string, namespace: string, name: string, resourceVersion: string, timeoutMs: number): Promise<string>;
  /** Asks the API server its version: proof that it answers and accepts kubevend's credentials. */
  version(cluster: string): Promise<string>;
}


/** The logging the services do: pino's, as Fastify hands it over. */
export interface ServiceLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What kubevend tells its metrics; `src/metrics.ts` implements it with Prometheus counters. */
export interface Telemetry {
  issuance(outcome: 'granted' | 'denied' | 'failed', labels: { pipeline?: string; cluster?: string; mode?: string; code?: string }): void;
  kubeCall(cluster: string, verb: string, seconds: number, code: string): void;
  reaperRun(result: 'ok' | 'error', removed: { expired: number; abandoned: number; strays: number }): void;
  /** A request refused (4xx), by its problem code. */
  refusal(code: string): void;
}

/** Telemetry that records nothing, for tools that build the app without metrics. */
export const noTelemetry: Telemetry = { issuance: () => {}, kubeCall: () => {}, reaperRun: () => {}, refusal: () => {} };
