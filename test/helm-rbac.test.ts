import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubeconfigForToken, kubectl, kubectlOk } from './helpers/cluster.ts';
import { issueUseRevoke, modeCases, modePolicy, prepareModeNamespace, vend } from './helpers/grant-modes.ts';
import { renderChart, valueSetFile } from './helpers/helm.ts';
import { managedLabels } from './helpers/instance.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { labelled } from './helpers/vended.ts';

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

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    [system, work, unlisted, narrowWork] = await Promise.all(['helm-system', 'helm-work', 'helm-unlisted', 'helm-narrow'].map((p) => createNamespace(p))) as [string, string, string, string];
    await Promise.all([prepareModeNamespace(work), prepareModeNamespace(narrowWork)]);
    await createViewerServiceAccount(unlisted, 'deployer');
    // Every mode, bound in `work` only; and the default modes (plus sweep) bound in `narrowWork` only.
    const everything = await installRbac(scratch.dir, system, ['-f', valueSetFile('all-modes'), '--set-json', `rbac.namespaces=["${work}"]`]);
    const defaults = await installRbac(scratch.dir, system, ['--set-json', `rbac.namespaces=["${narrowWork}"]`, '--set', 'rbac.modes.sweep=true']);
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

  it('when a grant issues into a namespace the chart does not list, then the API server refuses kubevend and nothing is left', async () => {
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

  it('when sweep is not enabled, then the reaper still removes expired credentials, and reports no error for the lists it may not make', async () => {
    const noSweep = await installRbac(scratch.dir, system, ['--set-json', `rbac.namespaces=["${narrowWork}"]`]);
    const kv = await startKubevend(scratch.dir, modePolicy(ci, noSweep, narrowWork));
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
    await kubectlOk(['-n', narrowWork, 'create', 'serviceaccount', 'kv-stray']);
    await kubectlOk(['-n', narrowWork, 'label', 'serviceaccount', 'kv-stray',
      ...Object.entries(managedLabels).map(([k, v]) => `${k}=${v}`), 'kubevend.io/issuance=zzzzzzzzzzzzzzzzzzzzzzzzzz']);
    await kubectlOk(['-n', narrowWork, 'annotate', 'serviceaccount', 'kv-stray', `kubevend.io/expires-at=${new Date(Date.now() - 3_600_000).toISOString()}`]);
    const report = await narrow.reaper.runOnce();
    expect(report.strays).toBeGreaterThanOrEqual(1);
    expect((await kubectl(['-n', narrowWork, 'get', 'serviceaccount', 'kv-stray'])).code).not.toBe(0);
  });
});
