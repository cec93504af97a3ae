import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Problem } from '../errors.ts';
import type { ClusterPolicy } from '../policy/schema.ts';
import type { ClusterEndpoint, KubeGateway } from '../services/ports.ts';
import { kubeProblem } from './problems.ts';

interface ClusterClient {
  endpoint: ClusterEndpoint;
  core: CoreV1Api;
}

/** The only place kubevend talks to Kubernetes: one client per named cluster. */
export function createKubeGateway(clusters: ClusterPolicy[]): KubeGateway {
  const clients = new Map(clusters.map((c) => [c.name, clusterClient(c)]));
  const client = (name: string): ClusterClient => {
    const found = clients.get(name);
    if (!found) throw new Problem('cluster_unknown', `no cluster named "${name}" is configured`);
    return found;
  };

  return {
    endpoint: (cluster) => client(cluster).endpoint,

    async createServiceAccountToken({ cluster, namespace, serviceAccount, ttlSeconds, audiences }) {
      const what = `ServiceAccount ${namespace}/${serviceAccount} in cluster "${cluster}"`;
      try {
        const response = await client(cluster).core.createNamespacedServiceAccountTokenWithHttpInfo({
          name: serviceAccount,
          namespace,
          body: { spec: { expirationSeconds: ttlSeconds, audiences: audiences ?? [] } },
        });
        const status = response.data.status;
        if (!status?.token || !status.expirationTimestamp) throw new Problem('kube_error', `TokenRequest for ${what} returned no token`);
        return {
          token: status.token,
          expiresAt: new Date(status.expirationTimestamp),
          warnings: parseWarnings(response.headers['warning']),
        };
      } catch (err) {
        throw kubeProblem(err, what);
      }
    },
  };
}

function clusterClient(cluster: ClusterPolicy): ClusterClient {
  const kc = new KubeConfig();
  if (cluster.inCluster) kc.loadFromCluster();
  else kc.loadFromFile(cluster.kubeconfig!);
  if (cluster.context) kc.setCurrentContext(cluster.context);
  const current = kc.getCurrentCluster();
  if (!current) throw new Error(`cluster "${cluster.name}": its kubeconfig has no cluster for its context`);
  const caData = current.caData ?? (current.caFile ? readFileSync(current.caFile).toString('base64') : undefined);
  return {
    endpoint: { server: cluster.server ?? current.server, ...(caData ? { certificateAuthorityData: caData } : {}) },
    core: kc.makeApiClient(CoreV1Api),
  };
}

/** `Warning` headers look like `299 - "text"`; several may be joined by commas. */
function parseWarnings(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}
