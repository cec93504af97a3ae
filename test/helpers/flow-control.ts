import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kubeconfigForToken, kubectl, kubectlOk } from './cluster.ts';

/**
 * A kubevend identity the API server throttles on demand, with API Priority and Fairness: a
 * ServiceAccount in the given namespace (bound there to deploy/rbac's `kubevend-issue`), a
 * PriorityLevelConfiguration with one concurrency share and no queue (more at once are rejected
 * with 429 at once), and a FlowSchema that sends that ServiceAccount, and no one else, to it. The
 * control plane is shared with other test files running at once: only this identity is throttled.
 */
export interface ThrottledIdentity {
  /** A kubeconfig that authenticates as the throttled ServiceAccount. */
  kubeconfig: string;
  /** Requests the API server has rejected at this priority level so far (its own metric). */
  rejected(): Promise<number>;
  remove(): Promise<void>;
}

export async function throttledIdentity(dir: string, namespace: string): Promise<ThrottledIdentity> {
  const name = `kubevend-test-${namespace}-${randomBytes(2).toString('hex')}`;
  await kubectlOk(['apply', '-f', join(import.meta.dirname, '..', '..', 'deploy', 'rbac', 'issue.yaml')]);
  await kubectlOk(['-n', namespace, 'create', 'serviceaccount', 'throttled-kubevend']);
  await kubectlOk(['-n', namespace, 'create', 'rolebinding', 'throttled-kubevend', '--clusterrole=kubevend-issue', `--serviceaccount=${namespace}:throttled-kubevend`]);
  const remove = async () => {
    await kubectl(['delete', 'flowschema', name, '--ignore-not-found']);
    await kubectl(['delete', 'prioritylevelconfiguration', name, '--ignore-not-found']);
  };
  await kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
          kind: 'PriorityLevelConfiguration',
          metadata: { name },
          spec: {
            type: 'Limited',
            // One share of the server's concurrency (a few seats), none lent or borrowed, no queue.
            limited: { nominalConcurrencyShares: 1, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } },
          },
        },
        {
          apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
          kind: 'FlowSchema',
          metadata: { name },
          spec: {
            priorityLevelConfiguration: { name },
            matchingPrecedence: 100,
            rules: [{
              subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: 'throttled-kubevend', namespace } }],
              resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
              nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            }],
          },
        },
      ],
    }),
  }).catch(async (err: unknown) => {
    await remove();
    throw err;
  });
  const token = (await kubectlOk(['-n', namespace, 'create', 'token', 'throttled-kubevend', '--duration=1h'])).trim();
  const kubeconfig = await kubeconfigForToken(dir, token);
  const uid = (await kubectlOk(['get', 'flowschema', name, '-o', 'jsonpath={.metadata.uid}'])).trim();
  // The API server takes up new flow-control objects a moment after they are stored: wait until it
  // classifies this identity's requests by this FlowSchema (it says so in a response header).
  for (let deadline = Date.now() + 30_000; (await flowSchemaOf(kubeconfig)) !== uid;) {
    if (Date.now() > deadline) {
      await remove();
      throw new Error(`the API server did not apply FlowSchema ${name} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    kubeconfig,
    async rejected() {
      const metrics = await kubectlOk(['get', '--raw', '/metrics']);
      const lines = metrics.split('\n').filter((l) => l.startsWith(`apiserver_flowcontrol_rejected_requests_total{flow_schema="${name}",`));
      return lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    },
    remove,
  };
}

/** The uid of the FlowSchema the API server classified a request of this kubeconfig's user by. */
async function flowSchemaOf(kubeconfig: string): Promise<string | undefined> {
  const config = parse(await readFile(kubeconfig, 'utf8'));
  const server = new URL(config.clusters[0].cluster.server as string);
  return new Promise((resolve, reject) => {
    const req = request({
      host: server.hostname, port: server.port, path: '/version', method: 'GET',
      ca: Buffer.from(config.clusters[0].cluster['certificate-authority-data'] as string, 'base64'),
      headers: { authorization: `Bearer ${config.users[0].user.token as string}` },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['x-kubernetes-pf-flowschema-uid'] as string | undefined));
    });
    req.on('error', reject);
    req.end();
  });
}
