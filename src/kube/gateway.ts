import { readFileSync } from 'node:fs';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { Problem } from '../errors.ts';
import { DEFAULT_MAX_CONCURRENT_CALLS, type ClusterPolicy } from '../policy/schema.ts';
import { noTelemetry, type ClusterEndpoint, type KubeGateway, type ManagedKind, type ManagedObject, type Telemetry } from '../services/ports.ts';
import { CallSlots, withThrottleRetries } from './back-pressure.ts';
import { reuseConnections } from './connections.ts';
import { kubeProblem } from './problems.ts';
import { restCall } from './rest.ts';
import { waitForSecretToken } from './secret-token.ts';

interface ClusterClient {
  kc: KubeConfig;
  endpoint: ClusterEndpoint;
  /** Its share of calls at the API server (`maxConcurrentCalls`). */
  slots: CallSlots;
}

/** A cluster as the gateway takes it: the policy's entry, whose limit may be left to its default. */
export type GatewayCluster = Omit<ClusterPolicy, 'maxConcurrentCalls'> & { maxConcurrentCalls?: number };

/** Objects a list call asks for at once, unless told otherwise. */
const LIST_PAGE = 500;

/** What a list answers with, in the fields kubevend reads. */
interface ObjectList {
  metadata?: { continue?: string };
  items: {
    metadata: { name: string; namespace?: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  }[];
}

const apiVersions: Record<ManagedKind, string> = {
  Secret: 'v1',
  ServiceAccount: 'v1',
  Role: 'rbac.authorization.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

const plurals: Record<ManagedKind, string> = {
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  ClusterRole: 'clusterroles',
  RoleBinding: 'rolebindings',
  ClusterRoleBinding: 'clusterrolebindings',
};

/** How long one Kubernetes call may take before the caller gets a 504: waiting for a slot and retries included. */
const DEFAULT_CALL_TIMEOUT_MS = 15_000;

/** The only place kubevend talks to Kubernetes: one client per named cluster. */
export function createKubeGateway(
  clusters: GatewayCluster[],
  options: { callTimeoutMs?: number; telemetry?: Telemetry; listPageSize?: number } = {},
): KubeGateway {
  const telemetry = options.telemetry ?? noTelemetry;
  const clients = new Map(clusters.map((c) => [c.name, clusterClient(c)]));
  const timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const pageSize = options.listPageSize ?? LIST_PAGE;
  const client = (name: string): ClusterClient => {
    const found = clients.get(name);
    if (!found) throw new Problem('cluster_unknown', `no cluster named "${name}" is configured`);
    return found;
  };
  /**
   * Runs one call with a deadline, in a slot of its cluster, retried while the API server says it is
   * throttling, and times it; every failure leaves as a stable problem. Each throttled answer that
   * is retried is observed with code `throttled`, besides the call's own outcome.
   */
  const call = async <T>(cluster: string, verb: string, what: string, run: (kc: KubeConfig, signal: AbortSignal) => Promise<T>): Promise<T> => {
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Problem('kube_timeout', `the API server did not answer within ${timeoutMs} ms (${what})`)), timeoutMs);
    const { signal } = deadline;
    let code = 'ok';
    try {
      const { kc, slots } = client(cluster);
      const attempts = withThrottleRetries(slots, signal, started + timeoutMs, () => run(kc, signal), (seconds) =>
        telemetry.kubeCall(cluster, verb, seconds, 'throttled'));
      // A run that does not heed its signal still ends the call at the deadline.
      const expired = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      return await Promise.race([attempts, expired]);
    } catch (err) {
      const problem = kubeProblem(signal.aborted ? signal.reason : err, what);
      code = problem.code;
      throw problem;
    } finally {
      clearTimeout(timer);
      telemetry.kubeCall(cluster, verb, (performance.now() - started) / 1000, code);
    }
  };

  return {
    endpoint: (cluster) => client(cluster).endpoint,

    createServiceAccountToken: ({ cluster, namespace, serviceAccount, ttlSeconds, audiences, boundSecret }) =>
      call(cluster, 'create_token', `ServiceAccount ${namespace}/${serviceAccount} in cluster "${cluster}"`, async (kc, signal) => {
        const response = await restCall(kc, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
          spec: {
            expirationSeconds: ttlSeconds,
            audiences: audiences ?? [],
            ...(boundSecret ? { boundObjectRef: { apiVersion: 'v1', kind: 'Secret', ...boundSecret } } : {}),
          },
        }, signal);
        const status = response.body.status as { token?: string; expirationTimestamp?: string } | undefined;
        if (!status?.token || !status.expirationTimestamp) throw new Problem('kube_error', 'the TokenRequest answer holds no token');
        return { token: status.token, expiresAt: new Date(status.expirationTimestamp), warnings: parseWarnings(response.headers['warning']) };
      }),

    create: (cluster, manifest) =>
      call(cluster, 'create', `${manifest.kind} ${qualified(manifest.metadata)} in cluster "${cluster}"`, async (kc, signal) => {
        const created = await restCall(kc, 'POST', collection(manifest.kind, manifest.metadata.namespace), manifest, signal);
        const metadata = created.body.metadata as { uid: string; resourceVersion: string };
        return { uid: metadata.uid, resourceVersion: metadata.resourceVersion };
      }),

    delete: (cluster, ref) =>
      call(cluster, 'delete', `${ref.kind} ${qualified(ref)} in cluster "${cluster}"`, async (kc, signal) => {
        const options = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(ref.uid ? { preconditions: { uid: ref.uid } } : {}) };
        try {
          await restCall(kc, 'DELETE', `${collection(ref.kind, ref.namespace)}/${encodeURIComponent(ref.name)}`, options, signal);
          return true;
        } catch (err) {
          // Gone already, or replaced by another object of the same name: not ours to delete.
          if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return false;
          throw err;
        }
      }),

    list: (cluster, kind, labelSelector) => ({
      // Page by page, each page dealt with before the next is fetched: a whole list of Secrets
      // (with their managed fields) can be tens of MB of JSON, of which a few fields are kept.
      async *[Symbol.asyncIterator]() {
        let next: string | undefined;
        do {
          const query = `labelSelector=${encodeURIComponent(labelSelector)}&limit=${pageSize}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
          const page = await call(cluster, 'list', `${kind} objects labelled ${labelSelector} in cluster "${cluster}"`, async (kc, signal) =>
            (await restCall(kc, 'GET', `${collection(kind)}?${query}`, undefined, signal)).body as unknown as ObjectList);
          next = page.metadata?.continue || undefined;
          yield page.items.map(({ metadata }): ManagedObject => ({
            kind,
            name: metadata.name,
            ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
            uid: metadata.uid,
            labels: metadata.labels ?? {},
            annotations: metadata.annotations ?? {},
            createdAt: new Date(metadata.creationTimestamp ?? 0),
          }));
        } while (next);
      },
    }),

    version: (cluster) =>
      call(cluster, 'version', `the version of cluster "${cluster}"`, async (kc, signal) => {
        const { gitVersion } = (await restCall(kc, 'GET', '/version', undefined, signal)).body;
        if (typeof gitVersion !== 'string') throw new Problem('kube_error', `the version answer of cluster "${cluster}" holds no gitVersion`);
        return gitVersion;
      }),

    async waitForSecretToken(cluster, namespace, name, resourceVersion, waitMs) {
      const started = performance.now();
      let code = 'ok';
      try {
        return await waitForSecretToken(client(cluster).kc, { namespace, name, resourceVersion, timeoutMs: waitMs });
      } catch (err) {
        const problem = kubeProblem(err, `Secret ${namespace}/${name} in cluster "${cluster}"`);
        code = problem.code;
        throw problem;
      } finally {
        telemetry.kubeCall(cluster, 'wait_token', (performance.now() - started) / 1000, code);
      }
    },
  };
}

/** The path of a kind's objects: in one namespace, or (none given) in all of them and cluster-wide. */
function collection(kind: ManagedKind, namespace?: string): string {
  const version = apiVersions[kind];
  const group = version === 'v1' ? '/api/v1' : `/apis/${version}`;
  return `${group}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plurals[kind]}`;
}

function qualified(meta: { name: string; namespace?: string }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

function clusterClient(cluster: GatewayCluster): ClusterClient {
  const kc = new KubeConfig();
  if (cluster.inCluster) kc.loadFromCluster();
  else kc.loadFromFile(cluster.kubeconfig!);
  if (cluster.context) kc.setCurrentContext(cluster.context);
  reuseConnections(kc);
  const current = kc.getCurrentCluster();
  if (!current) throw new Error(`cluster "${cluster.name}": its kubeconfig has no cluster for its context`);
  const caData = current.caData ?? (current.caFile ? readFileSync(current.caFile).toString('base64') : undefined);
  return {
    kc,
    endpoint: { server: cluster.server ?? current.server, ...(caData ? { certificateAuthorityData: caData } : {}) },
    slots: new CallSlots(cluster.maxConcurrentCalls ?? DEFAULT_MAX_CONCURRENT_CALLS),
  };
}

/** `Warning` headers look like `299 - "text"`; several may be joined by commas. */
function parseWarnings(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}
