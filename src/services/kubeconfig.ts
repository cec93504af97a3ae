import { stringify } from 'yaml';
import type { ClusterEndpoint } from './ports.ts';

export interface KubeconfigContext {
  cluster: string;
  endpoint: ClusterEndpoint;
  namespace: string;
  user: string;
  token: string;
}

/** A kubeconfig with one context per cluster, each named after its cluster; the first is current. */
export function renderKubeconfig(contexts: KubeconfigContext[]): string {
  const [first] = contexts;
  if (!first) throw new Error('a kubeconfig needs at least one context');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({
      name: c.cluster,
      cluster: {
        server: c.endpoint.server,
        ...(c.endpoint.certificateAuthorityData ? { 'certificate-authority-data': c.endpoint.certificateAuthorityData } : {}),
      },
    })),
    users: contexts.map((c) => ({ name: `${c.cluster}-${c.user}`, user: { token: c.token } })),
    contexts: contexts.map((c) => ({
      name: c.cluster,
      context: { cluster: c.cluster, user: `${c.cluster}-${c.user}`, namespace: c.namespace },
    })),
    'current-context': first.cluster,
  });
}
