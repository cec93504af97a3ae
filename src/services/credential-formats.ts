import { stringify } from 'yaml';
import type { IssuedAccess } from './issuance-engine.ts';
import type { ClusterEndpoint } from './ports.ts';

export const credentialFormats = ['json', 'kubeconfig', 'exec-credential', 'env'] as const;
export type CredentialFormat = (typeof credentialFormats)[number];

export type IssuedWithEndpoint = IssuedAccess & { endpoint: ClusterEndpoint };

/** One kubeconfig with a context per cluster, each named after its cluster; the first is current. */
export function renderKubeconfig(issued: IssuedWithEndpoint[]): string {
  const user = (i: IssuedWithEndpoint) => `${i.cluster}-${i.serviceAccount}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: issued.map((i) => ({
      name: i.cluster,
      cluster: {
        server: i.endpoint.server,
        ...(i.endpoint.certificateAuthorityData ? { 'certificate-authority-data': i.endpoint.certificateAuthorityData } : {}),
      },
    })),
    users: issued.map((i) => ({ name: user(i), user: { token: i.token } })),
    contexts: issued.map((i) => ({ name: i.cluster, context: { cluster: i.cluster, user: user(i), namespace: i.namespace } })),
    'current-context': issued[0]!.cluster,
  });
}

/** What a kubectl exec credential plugin prints (client.authentication.k8s.io/v1). */
export function renderExecCredential(issued: IssuedAccess): string {
  return JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: issued.token, expirationTimestamp: issued.expiresAt.toISOString() },
  });
}

/** `NAME=value` lines for `>> $GITHUB_ENV` or `source`; values never need quoting. */
export function renderEnv(issued: IssuedWithEndpoint[]): string {
  const lines = [
    `KUBEVEND_ISSUANCE_IDS=${issued.map((i) => i.issuanceId).join(',')}`,
    `KUBEVEND_EXPIRES_AT=${earliest(issued).toISOString()}`,
    `KUBECONFIG_DATA=${Buffer.from(renderKubeconfig(issued)).toString('base64')}`,
  ];
  if (issued.length === 1) {
    const [only] = issued as [IssuedWithEndpoint];
    lines.push(`KUBE_SERVER=${only.endpoint.server}`, `KUBE_NAMESPACE=${only.namespace}`, `KUBE_TOKEN=${only.token}`);
    if (only.endpoint.certificateAuthorityData) lines.push(`KUBE_CA_DATA=${only.endpoint.certificateAuthorityData}`);
  }
  return `${lines.join('\n')}\n`;
}

export function earliest(issued: IssuedAccess[]): Date {
  return new Date(Math.min(...issued.map((i) => i.expiresAt.getTime())));
}
