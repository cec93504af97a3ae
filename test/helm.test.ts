import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { policySchema } from '../src/policy/schema.ts';
import { createNamespace, deleteNamespaces, kubectl, kubectlOk } from './helpers/cluster.ts';
import { chartDir, find, helm, renderChart, valueSetFile, valueSets, type Manifest } from './helpers/helm.ts';
import { scratchDir } from './helpers/kubevend.ts';

const root = join(import.meta.dirname, '..');

// The chart as helm and the API server see it. test/helm-rbac.test.ts runs kubevend with its RBAC.
describe('the Helm chart', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ns: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ns = await createNamespace('helm');
    await kubectlOk(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
  });

  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  /** A values file in the scratch directory, for helm's -f. */
  const valuesFile = async (values: object) => {
    const file = join(scratch.dir, `values-${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(file, stringify(values));
    return file;
  };

  it.concurrent.for(['defaults', ...valueSets])('when helm lint --strict checks the %s values, then the chart passes', async (set, { expect }) => {
    const result = await helm(['lint', '--strict', chartDir, ...(set === 'defaults' ? [] : ['-f', valueSetFile(set)])]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it.concurrent.for(valueSets)('when the %s values are applied (server dry run) where the restricted Pod Security Standard is enforced, then every object is accepted without a warning', async (set, { expect }) => {
    // RoleBindings go into namespaces that must exist: the test's own stands in for the policy's.
    const values = parse(await readFile(valueSetFile(set), 'utf8'));
    for (const grant of values.policy.content.pipelines.flatMap((p: { grants: { namespace: unknown }[] }) => p.grants)) grant.namespace = ns;
    const { manifests, text } = await renderChart(`kv-${set}`, ns, ['-f', await valuesFile(values)]);
    expect(manifests.filter((m) => m.kind === 'RoleBinding').map((m) => m.metadata.namespace)).toContain(ns);
    const result = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { input: text });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.match(/created \(server dry run\)/g)).toHaveLength(manifests.length);
    expect(manifests.map((m) => m.kind)).toContain('Deployment');
  });

  it('when SQLite is asked for two replicas, then the schema refuses the values', async () => {
    const file = await valuesFile({ storage: { type: 'sqlite' }, replicaCount: 2 });
    for (const command of ['template', 'lint']) {
      const result = await helm([command, ...(command === 'template' ? ['kv'] : []), chartDir, '-f', file]);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/\/replicaCount': maximum: got 2, want 1/);
    }
    expect((await helm(['template', 'kv', chartDir, '-f', file, '--set', 'storage.type=postgres', '--set', 'storage.postgres.url=postgres://db/kv'])).code).toBe(0);
  });

  it('when PostgreSQL has neither a URL nor a Secret, or a value is misspelt, then the schema refuses the values', async () => {
    const noUrl = await helm(['template', 'kv', chartDir, '-f', await valuesFile({ storage: { type: 'postgres' }, replicaCount: 2 })]);
    expect(noUrl.stderr).toMatch(/\/storage\/postgres\/url': minLength/);
    const misspelt = await helm(['template', 'kv', chartDir, '-f', await valuesFile({ replicas: 2 })]);
    expect(misspelt.stderr).toMatch(/additional properties 'replicas' not allowed/);
  });

  it('when only the pipelines change, then the pods are not restarted; when clusters, issuer keys or the database change, then they are', async () => {
    const base = parse(await readFile(join(chartDir, 'values.yaml'), 'utf8')).policy.content;
    const podTemplate = async (values: object) => {
      const { manifests } = await renderChart('kv', ns, ['-f', await valuesFile(values)]);
      return find(manifests, 'Deployment').spec as { template: unknown };
    };
    const before = await podTemplate({});
    const pipelines = [{ name: 'web', issuer: 'github', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: 'web', serviceAccount: 'deployer' }] }];
    expect((await podTemplate({ policy: { content: { ...base, pipelines } } })).template).toEqual(before.template);
    expect((await podTemplate({ policy: { content: { ...base, clusters: [...base.clusters, { name: 'prod', kubeconfig: '/etc/kubevend/clusters/prod.yaml' }] } } })).template).not.toEqual(before.template);
    expect((await podTemplate({ issuerKeys: { files: { 'jenkins.pub.pem': 'a key' } } })).template).not.toEqual(before.template);
    const postgres = (url: string) => podTemplate({ storage: { type: 'postgres', postgres: { url } }, fingerprintKey: { existingSecret: 'kv-key' } });
    expect((await postgres('postgres://db/a')).template).not.toEqual((await postgres('postgres://db/b')).template);
  });

  it('when replicas share PostgreSQL, then a stopping pod goes on serving in preStop before kubevend drains, within its grace period; SQLite\'s one pod does not wait', async () => {
    type PodSpec = { terminationGracePeriodSeconds: number; containers: { lifecycle?: { preStop?: { exec?: { command: string[] } } } }[] };
    const podSpec = async (values: object) => {
      const { manifests } = await renderChart('kv', ns, ['-f', await valuesFile(values)]);
      return (find(manifests, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
    };
    const replicas = await podSpec({ replicaCount: 2, storage: { type: 'postgres', postgres: { url: 'postgres://db/a' } }, fingerprintKey: { existingSecret: 'kv-key' } });
    expect(replicas.containers[0]!.lifecycle?.preStop?.exec?.command).toEqual(['sleep', '5']);
    // The delay, then kubevend's own 10 s of draining, before the kubelet kills it.
    expect(replicas.terminationGracePeriodSeconds).toBeGreaterThan(5 + 10);
    expect((await podSpec({})).containers[0]!.lifecycle).toBeUndefined();
  });

  it('when the policy\'s namespaces are templated and no namespaces are listed, then the chart refuses to render and says what to set; listed or cluster-wide, it binds there', async () => {
    const base = parse(await readFile(join(chartDir, 'values.yaml'), 'utf8')).policy.content;
    const grants = [{ cluster: 'local', namespace: ['web', 'ci-{{repository_name}}'], serviceAccount: 'deployer' }];
    const templated = { policy: { content: { ...base, pipelines: [{ name: 'per-repo', issuer: 'github', match: { repository_owner: 'acme' }, grants }] } } };
    const refused = await helm(['template', 'kv', chartDir, '--namespace', ns, '-f', await valuesFile(templated)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ci-{{repository_name}}');
    expect(refused.stderr).toMatch(/cannot tell the namespaces they render to. Set them: list them in rbac\.namespaces/);
    expect(refused.stderr).toMatch(/rbac\.clusterWide: true/);
    const bindings = async (values: object) => (await renderChart('kv', ns, ['-f', await valuesFile(values)])).manifests
      .filter((m) => m.kind.endsWith('Binding') && m.metadata.name === 'kv-kubevend-issue')
      .map((m) => `${m.kind} ${m.metadata.namespace ?? ''}`.trim());
    expect(await bindings({ ...templated, rbac: { namespaces: ['ci-web', 'ci-api'] } })).toEqual(['RoleBinding web', 'RoleBinding ci-web', 'RoleBinding ci-api']);
    expect(await bindings({ ...templated, rbac: { clusterWide: true } })).toEqual(['ClusterRoleBinding']);
  });

  it('when the policy is in a ConfigMap of one\'s own, then the chart refuses to render until the namespaces are listed', async () => {
    const refused = await helm(['template', 'kv', chartDir, '--set', 'policy.existingConfigMap=our-policy']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/the policy is in ConfigMap our-policy, which the chart cannot read.*rbac\.namespaces/);
    const { manifests } = await renderChart('kv', ns, ['--set', 'policy.existingConfigMap=our-policy', '--set-json', 'rbac.namespaces=["ci-web"]']);
    expect(find(manifests, 'RoleBinding', '-issue').metadata.namespace).toBe('ci-web');
  });

  it('when a grant names only a cluster kubevend reaches by kubeconfig, then the chart binds nothing for it in its own cluster', async () => {
    const { manifests } = await renderChart('kv', ns, ['-f', valueSetFile('postgres-replicas'), '--set-json',
      'policy.content.pipelines=[{"name":"eu","issuer":"jenkins","match":{"job":"eu"},"grants":[{"cluster":"prod-eu","namespace":"billing-eu","serviceAccount":"deployer"}]}]']);
    expect(manifests.filter((m) => m.kind.endsWith('Binding'))).toEqual([]);
  });

  it('when the chart grants kubevend permissions, then they are exactly those of deploy/rbac', async () => {
    const { manifests } = await renderChart('kv', ns, ['-f', valueSetFile('all-modes')]);
    const rulesOf = (m: Manifest) => (m.rules as object[]).map((r) => JSON.stringify(Object.entries(r).sort()));
    const documented = async (file: string) => parse(await readFile(join(root, 'deploy', 'rbac', file), 'utf8')) as Manifest;
    for (const file of (await readdir(join(root, 'deploy', 'rbac'))).filter((f) => f.endsWith('.yaml') && !f.includes('example'))) {
      expect(rulesOf(find(manifests, 'ClusterRole', `-${file.replace('.yaml', '')}`)), file).toEqual(rulesOf(await documented(file)));
    }
    // all-modes hands out what the example does, split into its namespaced and cluster-wide parts.
    const grantable = [...rulesOf(find(manifests, 'ClusterRole', '-grantable')), ...rulesOf(find(manifests, 'ClusterRole', '-grantable-cluster'))];
    expect(new Set(grantable)).toEqual(new Set(rulesOf(await documented('policy-specific.example.yaml'))));
  });

  it('when the Prometheus operator\'s API exists, then a ServiceMonitor scrapes /metrics; where it does not, none is rendered', async () => {
    const without = await renderChart('kv', ns, ['-f', valueSetFile('all-modes')]);
    expect(without.manifests.map((m) => m.kind)).not.toContain('ServiceMonitor');
    const withApi = await renderChart('kv', ns, ['-f', valueSetFile('all-modes'), '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor']);
    expect(find(withApi.manifests, 'ServiceMonitor').spec).toMatchObject({ endpoints: [{ port: 'http', path: '/metrics' }] });
  });

  it.concurrent.for(['defaults', ...valueSets])('when the %s values are rendered, then the policy ConfigMap holds a policy kubevend accepts', async (set, { expect }) => {
    const { manifests } = await renderChart('kv', ns, set === 'defaults' ? [] : ['-f', valueSetFile(set)]);
    const policy = parse((find(manifests, 'ConfigMap', '-policy').data as Record<string, string>)['policy.yaml']!);
    expect(policySchema.safeParse(policy).error?.issues ?? []).toEqual([]);
  });

  it('when two releases share a cluster, then each is an installation of its own that kubevend accepts', async () => {
    const instanceOf = async (release: string, namespace: string) => {
      const { manifests } = await renderChart(release, namespace, ['-f', valueSetFile('all-modes')]);
      const env = (find(manifests, 'Deployment').spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } })
        .template.spec.containers[0]!.env;
      return env.find((e) => e.name === 'KUBEVEND_INSTANCE')?.value;
    };
    const { loadConfig } = await import('../src/config.ts');
    const long = `${'n'.repeat(60)}-x`;
    const instances = [await instanceOf('kv', ns), await instanceOf('kv', 'other'), await instanceOf('kv2', ns), await instanceOf('kv', long)];
    expect(instances.slice(0, 3)).toEqual([`${ns}.kv`, 'other.kv', `${ns}.kv2`]);
    for (const instance of instances) expect(loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml', KUBEVEND_INSTANCE: instance }).instance).toBe(instance);
  });

  it('when the chart is packaged, then its appVersion, the default image tag, is kubevend\'s version', async () => {
    const chart = parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8'));
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    expect(chart.appVersion).toBe(pkg.version);
  });
});
