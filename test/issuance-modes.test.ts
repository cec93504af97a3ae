import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectlOk } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { can, labelled, refusedWithin, saveKubeconfig } from './helpers/vended.ts';

// Every grant mode, both token kinds: what the credential may do at the real API server, what it may
// not, and that revocation makes the API server refuse it and removes every object made for it.
describe('grant modes and token kinds', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let ns: string;
  let other: string;
  let admin: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    ns = await createNamespace('modes');
    other = await createNamespace('modes-other');
    await createViewerServiceAccount(ns, 'deployer');
    await kubectlOk(['-n', ns, 'create', 'role', 'deployer-role', '--verb=get,list,create', '--resource=configmaps']);
    const both = ['short-lived', 'durable'];
    const grant = (extra: object) => [{ cluster: 'local', namespace: ns, kinds: both, ...extra }];
    kv = await startKubevend(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'existing', issuer: 'ci', match: { mode: 'existing' }, grants: grant({ serviceAccount: 'deployer' }) },
        { name: 'bind-role', issuer: 'ci', match: { mode: 'bind-role' }, grants: grant({ bind: { role: 'deployer-role' } }) },
        { name: 'bind-view', issuer: 'ci', match: { mode: 'bind-view' }, grants: grant({ bind: { clusterRole: 'view' } }) },
        { name: 'bind-view-cluster', issuer: 'ci', match: { mode: 'bind-view-cluster' }, grants: grant({ bind: { clusterRole: 'view' }, scope: 'cluster' }) },
        { name: 'rules', issuer: 'ci', match: { mode: 'rules' }, grants: grant({ rules: [{ resources: ['configmaps'], verbs: ['get', 'list'] }] }) },
        { name: 'short-only', issuer: 'ci', match: { mode: 'short-only' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
        { name: 'rules-cluster', issuer: 'ci', match: { mode: 'rules-cluster' }, grants: grant({ rules: [{ resources: ['namespaces'], verbs: ['get', 'list'] }], scope: 'cluster' }) },
      ],
      operators: [{ name: 'platform', issuer: 'sso', match: { groups: 'platform' }, role: 'admin' }],
    });
    admin = await sso.mint({ sub: 'ada', groups: ['platform'] });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns, other);
    await scratch?.cleanup();
  });

  // What each mode's credential may and may not do.
  const expectations: Record<string, { may: [string, string, 'ns' | 'other' | 'all'][]; mayNot: [string, string, 'ns' | 'other' | 'all'][] }> = {
    existing: { may: [['list', 'pods', 'ns']], mayNot: [['list', 'pods', 'other'], ['create', 'configmaps', 'ns']] },
    'bind-role': { may: [['create', 'configmaps', 'ns']], mayNot: [['list', 'pods', 'ns'], ['list', 'configmaps', 'other']] },
    'bind-view': { may: [['list', 'pods', 'ns']], mayNot: [['list', 'pods', 'other'], ['create', 'configmaps', 'ns']] },
    'bind-view-cluster': { may: [['list', 'pods', 'other'], ['list', 'pods', 'all']], mayNot: [['create', 'configmaps', 'ns']] },
    rules: { may: [['list', 'configmaps', 'ns']], mayNot: [['list', 'configmaps', 'other'], ['list', 'pods', 'ns']] },
    'rules-cluster': { may: [['list', 'namespaces', 'all']], mayNot: [['list', 'pods', 'ns'], ['list', 'configmaps', 'other']] },
  };
  const where = (w: 'ns' | 'other' | 'all') => (w === 'ns' ? ns : w === 'other' ? other : undefined);
  const cases = Object.keys(expectations).flatMap((mode) => [[mode, 'short-lived'], [mode, 'durable']] as const);

  // Concurrent: each case waits out the API server's ten-second authentication cache after revoking.
  it.concurrent.for(cases)('when mode %s issues a %s token, then it may do what the grant allows, nothing more, until revoked', async ([mode, kind], { expect }) => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/credentials', payload: { kind },
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode }))}` },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ pipeline: mode, namespace: ns, kind });
    const kubeconfig = await saveKubeconfig(scratch.dir, body.kubeconfig);
    for (const [verb, resource, w] of expectations[mode]!.may) expect(await can(kubeconfig, verb, resource, where(w)), `${verb} ${resource} ${w}`).toBe(true);
    for (const [verb, resource, w] of expectations[mode]!.mayNot) expect(await can(kubeconfig, verb, resource, where(w)), `${verb} ${resource} ${w}`).toBe(false);

    const id = body.issuanceId as string;
    const objects = await labelled(`kubevend.io/issuance=${id}`);
    expect(objects).toContain(`secret/kv-${mode}-${id}`);
    if (mode !== 'existing') {
      expect(body.serviceAccount).toBe(`kv-${mode}-${id}`);
      const owners = JSON.parse(await kubectlOk(['-n', ns, 'get', 'serviceaccount', body.serviceAccount, '-o', 'jsonpath={.metadata.ownerReferences}']));
      expect(owners).toEqual([expect.objectContaining({ kind: 'Secret', name: `kv-${mode}-${id}` })]);
    }

    const revoked = await kv.app.inject({ method: 'DELETE', url: `/v1/issuances/${id}`, headers: { authorization: `Bearer ${admin}` } });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ id, state: 'revoked', revokedBy: 'sso:ada' });
    expect(await refusedWithin(kubeconfig, 20_000)).toBe(true);
    expect(await labelled(`kubevend.io/issuance=${id}`)).toEqual([]);
  });

  it('when a short-lived token is issued, then its own jti is recorded and is what the API server reports as credential-id', async () => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/credentials', payload: {},
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode: 'existing' }))}` },
    });
    const kubeconfig = await saveKubeconfig(scratch.dir, res.json().kubeconfig);
    const whoami = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig }));
    const credentialId: string = whoami.status.userInfo.extra['authentication.kubernetes.io/credential-id'][0];
    const issuance = await kv.store.issuances.get(res.json().issuanceId);
    expect(issuance?.kubeTokenJti).toBeTruthy();
    expect(credentialId).toBe(`JTI=${issuance!.kubeTokenJti}`);
  });

  it('when a durable token is issued, then kubevend sets its end, which Kubernetes itself never would', async () => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/credentials', payload: { kind: 'durable', ttlSeconds: 7200 },
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode: 'bind-view' }))}` },
    });
    expect(res.statusCode).toBe(201);
    const lifetime = (Date.parse(res.json().expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(7190);
    expect(lifetime).toBeLessThanOrEqual(7200);
    const kubeconfig = await saveKubeconfig(scratch.dir, res.json().kubeconfig);
    // The token is not in the ServiceAccount's .secrets: nothing else hands it out.
    expect(await kubectlOk(['-n', ns, 'get', 'serviceaccount', res.json().serviceAccount, '-o', 'jsonpath={.secrets}'])).toBe('');
    const report = await kv.reaper.runOnce(new Date(Date.now() + 7300 * 1000));
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect(await refusedWithin(kubeconfig, 20_000)).toBe(true);
    expect((await kv.store.issuances.get(res.json().issuanceId))?.state).toBe('expired');
  });

  it('when a pipeline asks for a durable token its grant does not allow, then it is refused and nothing is created', async () => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/credentials', payload: { kind: 'durable' },
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode: 'short-only' }))}` },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'grant_not_allowed' });
    expect(res.json().detail).toContain('durable tokens are not granted');
    expect(await labelled('kubevend.io/pipeline=short-only')).toEqual([]);
  });
});
