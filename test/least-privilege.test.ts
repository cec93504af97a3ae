import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, deleteNamespaces, kubeconfigForToken, kubectlOk } from './helpers/cluster.ts';
import { issueUseRevoke, modeCases, modePolicy, prepareModeNamespace, vend } from './helpers/grant-modes.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { labelled } from './helpers/vended.ts';

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
    await prepareModeNamespace(ns);
    const everything = await kubevendIdentity(scratch.dir, system, 'kubevend', ['kubevend-issue', 'kubevend-generate', 'kubevend-cluster-scope', 'kubevend-durable', 'kubevend-sweep', 'kubevend-grantable']);
    const onlyIssue = await kubevendIdentity(scratch.dir, system, 'kubevend-minimal', ['kubevend-issue']);
    const policy = (kubeconfig: string) => modePolicy(ci, kubeconfig, ns, {
      'too-much': { rules: [{ resources: ['pods'], verbs: ['delete'] }] },
      'bind-edit': { bind: { clusterRole: 'edit' } },
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

  it.concurrent.for(modeCases)('when mode %s issues a %s token with only the documented permissions, then it works and revokes', async (modeCase, { expect }) => {
    await issueUseRevoke(full, ci, scratch.dir, ns, modeCase, expect);
  });

  it('when a generated role would hold a permission kubevend lacks, then escalation prevention refuses it and says what, leaving nothing', async () => {
    const res = await vend(full, ci, 'too-much');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('rbac_escalation_refused');
    expect(res.json().detail).toMatch(/pods.*delete|delete.*pods/);
    expect(await labelled('kubevend.io/pipeline=too-much')).toEqual([]);
  });

  it('when a binding names a role kubevend may not bind, then it is refused the same way', async () => {
    const res = await vend(full, ci, 'bind-edit');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('rbac_escalation_refused');
    expect(await labelled('kubevend.io/pipeline=bind-edit')).toEqual([]);
  });

  it('when kubevend lacks a permission a mode needs, then the caller learns which one and the anchor is rolled back', async () => {
    const res = await vend(minimal, ci, 'bind-view');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('kube_forbidden');
    expect(res.json().detail).toMatch(/cannot create resource "serviceaccounts"/);
    expect(await labelled('kubevend.io/pipeline=bind-view')).toEqual([]);
  });

  it('when kubevend has only the issue role, then the existing-ServiceAccount mode still works', async () => {
    expect((await vend(minimal, ci, 'existing')).statusCode).toBe(201);
  });
});
