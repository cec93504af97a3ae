import type { IssuedAccess } from './issuance-engine.ts';
import type { ClusterEndpoint } from './ports.ts';

export const credentialFormats = ['json', 'kubeconfig', 'exec-credential', 'env'] as const;
export type CredentialFormat = (typeof credentialFormats)[number];

export type IssuedWithEndpoint = IssuedAccess & { endpoint: ClusterEndpoint };

/**
 * One kubeconfig with a context per cluster, each named after its cluster; the first is current.
 * Written by hand rather than by a YAML library (which cost a tenth of an issuance's CPU): every
 * value is a JSON string, which YAML reads as a double-quoted scalar, so nothing needs escaping rules.
 */
export function renderKubeconfig(issued: IssuedWithEndpoint[]): string {
  const q = (value: string) => JSON.stringify(value);
  const user = (i: IssuedWithEndpoint) => q(`${i.cluster}-${i.serviceAccount}`);
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (const i of issued) {
    lines.push(`  - name: ${q(i.cluster)}`, '    cluster:', `      server: ${q(i.endpoint.server)}`);
    if (i.endpoint.certificateAuthorityData) lines.push(`      certificate-authority-data: ${q(i.endpoint.certificateAuthorityData)}`);
  }
  lines.push('users:');
  for (const i of issued) lines.push(`  - name: ${user(i)}`, '    user:', `      token: ${q(i.token)}`);
  lines.push('contexts:');
  for (const i of issued) {
    lines.push(`  - name: ${q(i.cluster)}`, '    context:', `      cluster: ${q(i.cluster)}`, `      user: ${user(i)}`, `      namespace: ${q(i.namespace)}`);
  }
  lines.push(`current-context: ${q(issued[0]!.cluster)}`);
  return `${lines.join('\n')}\n`;
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
