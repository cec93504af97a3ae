import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';

// A cluster as its administrator sees it, for the chaos suite's checks: kubectl for objects, and
// TokenReviews over one kept connection, since a fleet's worth of tokens through kubectl would
// take longer than the faults themselves.

export interface ClusterAccess {
  kubeconfig: string;
  kubectl: string;
}

/** Runs kubectl as the administrator. Never throws on exit codes. */
export function kubectl(access: ClusterAccess, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(access.kubectl, ['--kubeconfig', access.kubeconfig, '--request-timeout=5s', ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }));
  });
}

async function kubectlOk(access: ClusterAccess, args: string[]): Promise<string> {
  const result = await kubectl(access, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** A namespace of the scenario's own with the ServiceAccount `deployer` its grant names. */
export async function prepareNamespace(access: ClusterAccess, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectlOk(access, ['create', 'namespace', name]);
  await kubectlOk(access, ['-n', name, 'create', 'serviceaccount', 'deployer']);
  return name;
}

export async function deleteNamespace(access: ClusterAccess, name: string): Promise<void> {
  await kubectl(access, ['delete', 'namespace', name, '--wait=false']);
}

export interface LiveObject {
  kind: string;
  namespace?: string;
  name: string;
  issuance: string;
}

/** Every live object of one installation of kubevend, by its labels; throws when the API server does not answer. */
export async function liveObjects(access: ClusterAccess, instance: string): Promise<LiveObject[]> {
  const out = await kubectlOk(access, [
    'get', 'secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings', '--all-namespaces',
    '-l', `app.kubernetes.io/managed-by=kubevend,kubevend.io/instance=${instance}`, '-o', 'json',
  ]);
  const items = (JSON.parse(out) as { items: { kind: string; metadata: { name: string; namespace?: string; labels: Record<string, string> } }[] }).items;
  return items.map(({ kind, metadata }) => ({
    kind, name: metadata.name, ...(metadata.namespace ? { namespace: metadata.namespace } : {}), issuance: metadata.labels['kubevend.io/issuance'] ?? '',
  }));
}

/** Asks the API server, as its administrator, whether it accepts each token (a TokenReview). */
export async function tokenReviewer(access: ClusterAccess): Promise<{ accepts: (token: string) => Promise<boolean>; close: () => void }> {
  const config = parse(await readFile(access.kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const { server, 'certificate-authority-data': ca } = config.clusters[0]!.cluster;
  const user = config.users[0]!.user;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: b64(ca), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) });
  const review = (token: string) => new Promise<boolean>((resolve, reject) => {
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
    const req = request(`${server}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        if (res.statusCode !== 201) return reject(new Error(`TokenReview answered ${res.statusCode}: ${text.slice(0, 200)}`));
        resolve((JSON.parse(text) as { status?: { authenticated?: boolean } }).status?.authenticated === true);
      });
    });
    req.on('timeout', () => req.destroy(new Error('TokenReview timed out')));
    req.on('error', reject);
    req.end(body);
  });
  return { accepts: review, close: () => agent.destroy() };
}
