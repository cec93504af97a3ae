import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespaces, kubeconfigForToken, kubectl, kubectlOk } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';

// Proof that the tests run against a real API server and controller manager, not something softer.
describe('the local control plane', () => {
  let ns: string;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  beforeAll(async () => {
    scratch = await scratchDir();
    ns = await createNamespace('control-plane');
    await kubectlOk(['-n', ns, 'create', 'serviceaccount', 'probe']);
  });
  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch.cleanup();
  });

  it('when a 10-minute token is requested, then the API server issues it', async () => {
    const token = await kubectlOk(['-n', ns, 'create', 'token', 'probe', '--duration=10m']);
    expect(token.trim().split('.')).toHaveLength(3);
  });

  it('when a 1-minute token is requested, then the API server refuses it', async () => {
    const result = await kubectl(['-n', ns, 'create', 'token', 'probe', '--duration=1m']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/expirationSeconds|at least 10 minutes/i);
  });

  it('when a service-account-token Secret is created, then the token controller fills it', async () => {
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
        metadata: { name: 'probe-durable', annotations: { 'kubernetes.io/service-account.name': 'probe' } },
      }),
    });
    await kubectlOk(['-n', ns, 'wait', 'secret/probe-durable', '--for=jsonpath={.data.token}', '--timeout=30s']);
    const token = Buffer.from(await kubectlOk(['-n', ns, 'get', 'secret', 'probe-durable', '-o', 'jsonpath={.data.token}']), 'base64').toString();
    expect(token.split('.')).toHaveLength(3);
  });

  it('when a token without RBAC is used, then the API server forbids the request', async () => {
    const token = (await kubectlOk(['-n', ns, 'create', 'token', 'probe', '--duration=10m'])).trim();
    const kubeconfig = await kubeconfigForToken(scratch.dir, token);
    const result = await kubectl(['-n', ns, 'get', 'pods'], { kubeconfig });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/forbidden/i);
    const whoami = await kubectlOk(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(whoami).toBe(`system:serviceaccount:${ns}:probe`);
  });
});
