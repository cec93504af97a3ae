import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubeconfigForToken, kubectl, kubectlOk } from './helpers/cluster.ts';
import { issueUseRevoke, modeCases, modePolicy, prepareModeNamespace, vend } from './helpers/grant-modes.ts';
import { renderChart, valueSetFile } from './helpers/helm.ts';
import { managedLabels } from './helpers/instance.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { can, labelled } from './helpers/vended.ts';

const rbacKinds = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
const releases: string[] = [];

/**
 * Installs the RBAC part of the chart (its ServiceAccount, ClusterRoles and bindings) for real, as
 * `helm install` would, and returns a kubeconfig with a token of the chart's ServiceAccount.
 */
async function installRbac(dir: string, namespace: string, args: string[]): Promise<string> {
  const release = `kubevend-${randomBytes(3).toString('hex')}`;
  releases.push(release);
  const { manifests } = await renderChart(release, namespace, args);
  const rbac = manifests.filter((m) => rbacKinds.includes(m.kind));
  await kubectlOk(['apply', '-f', '-'], { input: rbac.map((m) => stringify(m)).join('---\n') });
  const token = (await kubectlOk(['-n', namespace, 'create', 'token', release, '--duration=1h'])).trim();
  return kubeconfigForToken(dir, token);
}

/**
 * A values file with the mode policy in `namespace` as the chart's values carry it: the same
 * pipelines, with kubevend's own cluster reached as `inCluster`, whose grants the chart's RBAC covers.
 */
async function chartPolicy(dir: string, ci: TestIssuer, namespace: string): Promise<string> {
  const file = join(dir, `policy-${randomBytes(4).toString('hex')}.yaml`);
  const content = { ...modePolicy(ci, '', namespace), clusters: [{ name: 'local', inCluster: true }] };
  await writeFile(file, stringify({ policy: { content } }));
  return file;
}

// kubevend running as the chart's ServiceAccount with exactly the permissions the chart grants it.
describe('kubevend with the Helm chart\'s RBAC', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let full: Kubevend;
  let narrow: Kubevend;
  let system: string;
  let work: string;
  let unlisted: string;
  let narrowWork: string;
  let defaults: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    [system, work, unlisted, narrowWork] = await Promise.all(['helm-system', 'helm-work', 'helm-unlisted', 'helm-narrow'].map((p) => createNamespace(p))) as [string, string, string, string];
    await Promise.all([prepareModeNamespace(work), prepareModeNamespace(narrowWork)]);
    await createViewerServiceAccount(unlisted, 'deployer');
    // Every mode for a policy in `work`; and the chart's defaults with nothing but a policy in `narrowWork`.
    const everything = await installRbac(scratch.dir, system, ['-f', valueSetFile('all-modes'), '-f', await chartPolicy(scratch.dir, ci, work)]);
    defaults = await installRbac(scratch.dir, system, ['-f', await chartPolicy(scratch.dir, ci, narrowWork)]);
    full = await startKubevend(scratch.dir, modePolicy(ci, everything, work, {
      unlisted: { serviceAccount: 'deployer', namespace: unlisted },
      'bind-edit': { bind: { clusterRole: 'edit' } },
    }));
    narrow = await startKubevend(scratch.dir, modePolicy(ci, defaults, narrowWork));
  });

  afterAll(async () => {
    await full?.close();
    await narrow?.close();
    if (releases.length) await kubectl(['delete', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance in (${releases.join(',')})`]);
    await deleteNamespaces(system, work, unlisted, narrowWork);
    await scratch?.cleanup();
  });

  it.concurrent.for(modeCases)('when mode %s issues a %s token with the chart\'s permissions, then it works and revokes', async (modeCase, { expect }) => {
    await issueUseRevoke(full, ci, scratch.dir, work, modeCase, expect);
  });

  it('when a grant issues into a namespace the chart\'s policy does not name, then the API server refuses kubevend and nothing is left', async () => {
    const res = await vend(full, ci, 'unlisted');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('kube_forbidden');
    expect(res.json().detail).toMatch(/cannot create resource "secrets".*namespace "helm-unlisted/);
    expect(await labelled('kubevend.io/pipeline=unlisted')).toEqual([]);
  });

  it('when a binding names a role not listed as grantable, then escalation prevention refuses it', async () => {
    const res = await vend(full, ci, 'bind-edit');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('rbac_escalation_refused');
  });

  it('when the chart\'s defaults are installed, then existing ServiceAccounts work, and rules, cluster scope and durable tokens wait until values grant them', async () => {
    expect((await vend(narrow, ci, 'existing')).statusCode).toBe(201);
    expect((await vend(narrow, ci, 'rules')).json().code).toBe('rbac_escalation_refused');
    const cluster = await vend(narrow, ci, 'bind-view-cluster');
    expect(cluster.statusCode).toBe(502);
    expect(cluster.json().detail).toMatch(/cannot create resource "clusterrolebindings"/);
    const durable = await vend(narrow, ci, 'existing', 'durable');
    expect(durable.statusCode, durable.body).toBe(502);
    expect(durable.json()).toMatchObject({ code: 'kube_forbidden', detail: expect.stringMatching(/Forbidden \(watching Secret/) });
    expect(await labelled('kubevend.io/pipeline=bind-view-cluster')).toEqual([]);
  });

  it('when the chart\'s defaults are installed with only a policy, then kubevend issues in the policy\'s namespace and can neither mint a token in kube-system nor delete a Secret elsewhere', async () => {
    await issueUseRevoke(narrow, ci, scratch.dir, narrowWork, ['existing', 'short-lived'], expect);
    // The API server's own answers to kubevend's ServiceAccount. The token asked for in kube-system is
    // that of `default`, which holds nothing, so that a chart that failed this hands out nothing real.
    const kubeSystemToken = await kubectl(['-n', 'kube-system', 'create', 'token', 'default', '--duration=10m'], { kubeconfig: defaults });
    expect(kubeSystemToken.code).not.toBe(0);
    expect(kubeSystemToken.stderr).toMatch(/forbidden.*cannot create resource "serviceaccounts\/token".*namespace "kube-system"/i);
    await kubectlOk(['-n', unlisted, 'create', 'secret', 'generic', 'bystander', '--from-literal=key=value']);
    const deleteElsewhere = await kubectl(['-n', unlisted, 'delete', 'secret', 'bystander'], { kubeconfig: defaults });
    expect(deleteElsewhere.stderr).toMatch(/forbidden.*cannot delete resource "secrets"/i);
    expect((await kubectl(['-n', unlisted, 'get', 'secret', 'bystander'])).code).toBe(0);
    expect(await can(defaults, 'delete', 'secrets', 'kube-system')).toBe(false);
    expect(await can(defaults, 'create', 'serviceaccounts/token')).toBe(false);
  });

  it('when sweep is not enabled, then the reaper still removes expired credentials, and reports no error for the lists it may not make', async () => {
    const kv = await startKubevend(scratch.dir, modePolicy(ci, defaults, narrowWork));
    try {
      const res = await vend(kv, ci, 'existing');
      expect(res.statusCode, res.body).toBe(201);
      const report = await kv.reaper.runOnce(new Date(Date.now() + 3 * 3600_000));
      expect(report).toMatchObject({ expired: 1, errors: 0 });
      expect((await kv.store.issuances.get(res.json().issuanceId))?.state).toBe('expired');
    } finally {
      await kv.close();
    }
  });

  it('when sweep is enabled, then the reaper finds and removes a labelled object no record names', async () => {
    const sweeping = await installRbac(scratch.dir, system, ['-f', await chartPolicy(scratch.dir, ci, narrowWork), '--set', 'rbac.modes.sweep=true']);
    const kv = await startKubevend(scratch.dir, modePolicy(ci, sweeping, narrowWork));
    try {
      await kubectlOk(['-n', narrowWork, 'create', 'serviceaccount', 'kv-stray']);
      await kubectlOk(['-n', narrowWork, 'label', 'serviceaccount', 'kv-stray',
        ...Object.entries(managedLabels).map(([k, v]) => `${k}=${v}`), 'kubevend.io/issuance=zzzzzzzzzzzzzzzzzzzzzzzzzz']);
      await kubectlOk(['-n', narrowWork, 'annotate', 'serviceaccount', 'kv-stray', `kubevend.io/expires-at=${new Date(Date.now() - 3_600_000).toISOString()}`]);
      const report = await kv.reaper.runOnce();
      expect(report.strays).toBeGreaterThanOrEqual(1);
      expect((await kubectl(['-n', narrowWork, 'get', 'serviceaccount', 'kv-stray'])).code).not.toBe(0);
    } finally {
      await kv.close();
    }
  });
});
