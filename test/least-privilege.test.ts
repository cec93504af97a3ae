import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubeconfigForToken, kubectlOk } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { can, labelled, saveKubeconfig } from './helpers/vended.ts';

const rbacDir = join(import.meta.dirname, '..', 'deploy', 'rbac');

const bindings: string[] = [];

/** A ServiceAccount for kubevend itself, bound to the named ClusterRoles, and a kubeconfig with its token. */
async function kubevendIdentity(dir: string, ns: string, name: string, clusterRoles: string[]): Promise<string> {
  await kubectlOk(['-n', ns, 'create', 'serviceaccount', name]);
  for (const role of clusterRoles) {
    bindings.push(`${ns}-${name}-${role}`);
    await kubectlOk(['create', 'clusterrolebinding', bindings.at(-1)!, `--clusterrole=${role}`, `--serviceaccount=${ns}:${name}`]);
  }
  const token = (await kubectlOk(['-n', ns, 'create', 'token', name, '--duration=1h'])).trim();
  return kubeconfigForToken(dir, token);
}

// kubevend running with exactly the documented permissions (deploy/rbac), not as cluster admin.
describe('kubevend with least-privilege RBAC', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let full: Kubevend;
  let minimal: Kubevend;
  let system: string;
  let ns: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    for (const file of (await readdir(rbacDir)).filter((f) => f.endsWith('.yaml'))) {
      await kubectlOk(['apply', '-f', join(rbacDir, file)]);
    }
    system = await createNamespace('kubevend-system');
    ns = await createNamespace('least');
    await createViewerServiceAccount(ns, 'deployer');
    await kubectlOk(['-n', ns, 'create', 'role', 'deployer-role', '--verb=get,list', '--resource=configmaps']);
    const everything = await kubevendIdentity(scratch.dir, system, 'kubevend', ['kubevend-issue', 'kubevend-generate', 'kubevend-cluster-scope', 'kubevend-durable', 'kubevend-sweep', 'kubevend-grantable']);
    const onlyIssue = await kubevendIdentity(scratch.dir, system, 'kubevend-minimal', ['kubevend-issue']);
    const both = ['short-lived', 'durable'];
    const policy = (kubeconfig: string) => ({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig }],
      pipelines: [
        ['existing', { serviceAccount: 'deployer' }],
        ['bind-role', { bind: { role: 'deployer-role' } }],
        ['bind-view', { bind: { clusterRole: 'view' } }],
        ['bind-view-cluster', { bind: { clusterRole: 'view' }, scope: 'cluster' }],
        ['rules', { rules: [{ resources: ['configmaps'], verbs: ['get', 'list'] }] }],
        ['rules-cluster', { rules: [{ resources: ['namespaces'], verbs: ['get', 'list'] }], scope: 'cluster' }],
        ['too-much', { rules: [{ resources: ['pods'], verbs: ['delete'] }] }],
        ['bind-edit', { bind: { clusterRole: 'edit' } }],
      ].map(([name, mode]) => ({ name, issuer: 'ci', match: { mode: name }, grants: [{ cluster: 'local', namespace: ns, kinds: both, ...(mode as object) }] })),
    });
    full = await startKubevend(scratch.dir, policy(everything));
    minimal = await startKubevend(scratch.dir, policy(onlyIssue));
  });

  afterAll(async () => {
    await full?.close();
    await minimal?.close();
    if (bindings.length) await kubectlOk(['delete', 'clusterrolebinding', ...bindings]);
    await deleteNamespaces(system, ns);
    await scratch?.cleanup();
  });

  const vend = async (kv: Kubevend, mode: string, kind = 'short-lived') =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: { kind }, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode }))}` } });

  const modes = ['existing', 'bind-role', 'bind-view', 'bind-view-cluster', 'rules', 'rules-cluster'];
  const cases = modes.flatMap((m) => [[m, 'short-lived'], [m, 'durable']] as const);

  it.concurrent.for(cases)('when mode %s issues a %s token with only the documented permissions, then it works and revokes', async ([mode, kind], { expect }) => {
    const res = await vend(full, mode, kind);
    expect(res.statusCode, res.body).toBe(201);
    const kubeconfig = await saveKubeconfig(scratch.dir, res.json().kubeconfig);
    const [verb, resource, where] = mode.startsWith('rules-cluster') ? ['list', 'namespaces', undefined] : mode.includes('rules') || mode === 'bind-role'
      ? ['list', 'configmaps', ns] : ['list', 'pods', ns];
    expect(await can(kubeconfig, verb!, resource!, where)).toBe(true);
    const id = res.json().issuanceId;
    const revoked = await full.app.inject({ method: 'DELETE', url: `/v1/issuances/${id}`, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode }))}` } });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await labelled(`kubevend.io/issuance=${id}`)).toEqual([]);
  });

  it('when a generated role would hold a permission kubevend lacks, then escalation prevention refuses it and says what, leaving nothing', async () => {
    const res = await vend(full, 'too-much');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('rbac_escalation_refused');
    expect(res.json().detail).toMatch(/pods.*delete|delete.*pods/);
    expect(await labelled('kubevend.io/pipeline=too-much')).toEqual([]);
  });

  it('when a binding names a role kubevend may not bind, then it is refused the same way', async () => {
    const res = await vend(full, 'bind-edit');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('rbac_escalation_refused');
    expect(await labelled('kubevend.io/pipeline=bind-edit')).toEqual([]);
  });

  it('when kubevend lacks a permission a mode needs, then the caller learns which one and the anchor is rolled back', async () => {
    const res = await vend(minimal, 'bind-view');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('kube_forbidden');
    expect(res.json().detail).toMatch(/cannot create resource "serviceaccounts"/);
    expect(await labelled('kubevend.io/pipeline=bind-view')).toEqual([]);
  });

  it('when kubevend has only the issue role, then the existing-ServiceAccount mode still works', async () => {
    expect((await vend(minimal, 'existing')).statusCode).toBe(201);
  });
});
