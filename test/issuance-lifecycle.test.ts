import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubeconfigForToken, kubectl, kubectlOk, unreachableKubeconfig } from './helpers/cluster.ts';
import { managedLabels } from './helpers/instance.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { can, labelled, refusedWithin, saveKubeconfig } from './helpers/vended.ts';

// Rollback, the reaper, the kill switch, rotation, several clusters and every output format.
describe('the life of an issuance', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let policy: Record<string, unknown>;
  let ns: string;
  let admin: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    ns = await createNamespace('lifecycle');
    await createViewerServiceAccount(ns, 'deployer');
    const down = await unreachableKubeconfig(scratch.dir);
    const grant = (cluster: string | string[], extra: object = {}) => [{ cluster, namespace: ns, bind: { clusterRole: 'view' }, kinds: ['short-lived', 'durable'], ...extra }];
    policy = {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [
        { name: 'local', kubeconfig: inject('kubeconfig') },
        // The same API server registered twice stands in for a second cluster.
        { name: 'local-b', kubeconfig: inject('kubeconfig') },
        { name: 'down', kubeconfig: down },
      ],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: grant(['local', 'local-b', 'down']) },
        { name: 'api', issuer: 'ci', match: { repository: 'acme/api' }, grants: grant('local') },
        { name: 'ghost', issuer: 'ci', match: { repository: 'acme/ghost' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'nobody' }] },
      ],
      operators: [{ name: 'platform', issuer: 'sso', match: { groups: 'platform' }, role: 'admin' }],
    };
    kv = await startKubevend(scratch.dir, policy);
    admin = await sso.mint({ sub: 'ada', groups: ['platform'] });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async (repository: string, body: object = {}, app = kv) =>
    app.app.inject({ method: 'POST', url: '/v1/credentials', payload: body, headers: { authorization: `Bearer ${await ci.mint(githubClaims(repository))}` } });

  it('when several clusters are asked, then one kubeconfig holds a working context for each', async () => {
    const res = await vend('acme/web', { clusters: ['local', 'local-b'] });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.issuances.map((i: { cluster: string }) => i.cluster)).toEqual(['local', 'local-b']);
    const kubeconfig = await saveKubeconfig(scratch.dir, body.kubeconfig);
    expect(parse(body.kubeconfig).contexts.map((c: { name: string }) => c.name)).toEqual(['local', 'local-b']);
    for (const context of ['local', 'local-b']) {
      expect((await kubectl(['--context', context, 'get', 'pods'], { kubeconfig })).code).toBe(0);
    }
  });

  it('when one of several clusters fails, then nothing is issued anywhere and nothing is left behind', async () => {
    const res = await vend('acme/web', { clusters: ['local', 'down'] });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('cluster_unreachable');
    const failed = (await kv.store.issuances.list({ pipeline: 'web', state: 'failed' }, {})).items;
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const issuance of failed) expect(await labelled(`kubevend.io/issuance=${issuance.id}`)).toEqual([]);
  });

  it('when the ServiceAccount is missing, then the anchor made before the TokenRequest is removed again', async () => {
    const res = await vend('acme/ghost');
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('kube_object_not_found');
    expect(res.json().detail).toContain(`ServiceAccount ${ns}/nobody`);
    expect(await labelled('kubevend.io/pipeline=ghost')).toEqual([]);
  });

  it('when the token controller is too slow, then the durable request times out and is rolled back', async () => {
    const slow = await startKubevend(scratch.dir, policy, { durableTokenTimeoutMs: 1 });
    try {
      const res = await vend('acme/api', { kind: 'durable' }, slow);
      expect(res.statusCode).toBe(504);
      expect(res.json().code).toBe('durable_token_timeout');
      const [failed] = (await slow.store.issuances.list({ pipeline: 'api' }, {})).items;
      expect(failed?.state).toBe('failed');
      expect(await labelled(`kubevend.io/issuance=${failed!.id}`)).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('when a pipeline\'s own CI job revokes its credential, then it works; another pipeline cannot even see it', async () => {
    const issued = (await vend('acme/api')).json();
    const stranger = await kv.app.inject({
      method: 'DELETE', url: `/v1/issuances/${issued.issuanceId}`, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` },
    });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json().code).toBe('issuance_not_found');
    const own = await kv.app.inject({
      method: 'DELETE', url: `/v1/issuances/${issued.issuanceId}`, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/api'))}` },
    });
    expect(own.statusCode).toBe(200);
    expect(own.json().state).toBe('revoked');
  });

  it('when an admin pulls the kill switch on a pipeline, then every credential it holds stops working and none is issued until it is lifted', async () => {
    const kubeconfigs = await Promise.all([vend('acme/api'), vend('acme/api', { kind: 'durable' })].map(async (r) => saveKubeconfig(scratch.dir, (await r).json().kubeconfig)));
    const refused = await kv.app.inject({ method: 'POST', url: '/v1/issuances/revoke', payload: { pipeline: 'api' }, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/api'))}` } });
    expect(refused.statusCode).toBe(403);
    const res = await kv.app.inject({ method: 'POST', url: '/v1/issuances/revoke', payload: { pipeline: 'api' }, headers: { authorization: `Bearer ${admin}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().revoked.length).toBeGreaterThanOrEqual(2);
    const results = await Promise.all(kubeconfigs.map((k) => refusedWithin(k, 20_000)));
    expect(results).toEqual([true, true]);
    expect((await kv.store.issuances.list({ pipeline: 'api', state: 'active' }, {})).items).toEqual([]);
    const next = await vend('acme/api');
    expect(next.statusCode).toBe(403);
    expect(next.json().code).toBe('pipeline_suspended');
    const lift = (token: string) => kv.app.inject({ method: 'DELETE', url: '/v1/suspensions/api', headers: { authorization: `Bearer ${token}` } });
    expect((await lift(await ci.mint(githubClaims('acme/api')))).statusCode).toBe(403);
    expect((await lift(admin)).statusCode).toBe(200);
    expect((await lift(admin)).json().code).toBe('suspension_not_found');
    expect((await vend('acme/api')).statusCode).toBe(201);
    const kinds = (await kv.store.audit.list({ kind: 'suspension', pipeline: 'api' })).items.map((r) => r.reason);
    expect(kinds).toEqual([expect.stringMatching(/^lifted by /), expect.stringMatching(/^suspended by /)]);
  });

  it('when a durable credential is rotated, then the new one works and the old one is refused', async () => {
    const old = (await vend('acme/web', { kind: 'durable' })).json();
    const oldConfig = await saveKubeconfig(scratch.dir, old.kubeconfig);
    const res = await kv.app.inject({
      method: 'POST', url: `/v1/issuances/${old.issuanceId}/rotate`, payload: {},
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ kind: 'durable', cluster: old.cluster, namespace: old.namespace });
    expect(res.json().issuanceId).not.toBe(old.issuanceId);
    const fresh = await saveKubeconfig(scratch.dir, res.json().kubeconfig);
    expect(await refusedWithin(oldConfig, 20_000)).toBe(true);
    expect((await kubectl(['get', 'pods'], { kubeconfig: fresh })).code).toBe(0);
    expect((await kv.store.issuances.get(old.issuanceId))?.state).toBe('revoked');
    const [record] = (await kv.store.audit.list({ issuanceId: old.issuanceId, kind: 'rotation' }, {})).items;
    expect(record).toMatchObject({ outcome: 'granted', pipeline: 'web' });
  });

  it('when a credential expires, then the reaper removes its objects, once, even with two replicas reaping at once', async () => {
    const issued = (await vend('acme/web')).json();
    const second = await startKubevend(scratch.dir, policy, { store: kv.store });
    try {
      const later = new Date(Date.now() + 2 * 3600_000);
      const [a, b] = await Promise.all([kv.reaper.runOnce(later), second.reaper.runOnce(later)]);
      expect(a.expired + b.expired).toBeGreaterThanOrEqual(1);
      expect(await labelled(`kubevend.io/issuance=${issued.issuanceId}`)).toEqual([]);
      expect((await kv.store.issuances.get(issued.issuanceId))?.state).toBe('expired');
      const expiries = (await kv.store.audit.list({ issuanceId: issued.issuanceId, kind: 'expiry' }, {})).items;
      expect(expiries).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('when a process died midway, then the reaper of a restarted one removes what its write-ahead record names', async () => {
    // What a crash leaves: a pending record and the anchor it had already created.
    const id = '0000000000abandonedxxxxxxx'.slice(0, 26);
    const anchor = { kind: 'Secret', name: `kv-web-${id}`, namespace: ns };
    await kv.store.issuances.createPending({
      id, pipeline: 'web', issuer: 'ci', subject: 's', cluster: 'local', namespace: ns, serviceAccount: `kv-web-${id}`,
      tokenKind: 'short-lived', kubeTokenJti: null, objects: [anchor], createdAt: new Date(), expiresAt: new Date(Date.now() + 900_000),
    });
    await kubectlOk(['-n', ns, 'create', 'secret', 'generic', anchor.name]);
    const restarted = await startKubevend(scratch.dir, policy, { store: kv.store });
    try {
      const report = await restarted.reaper.runOnce(new Date(Date.now() + 5 * 60_000));
      expect(report.abandoned).toBeGreaterThanOrEqual(1);
      expect((await kubectl(['-n', ns, 'get', 'secret', anchor.name])).code).not.toBe(0);
      expect((await kv.store.issuances.get(id))?.state).toBe('failed');
    } finally {
      await restarted.close();
    }
  });

  it('when a labelled object belongs to no recorded issuance, then the reaper sweeps it', async () => {
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'ServiceAccount',
        metadata: { name: 'kv-stray', labels: { ...managedLabels, 'kubevend.io/issuance': 'zzzzzzzzzzzzzzzzzzzzzzzzzz' } },
      }),
    });
    const report = await kv.reaper.runOnce(new Date(Date.now() + 5 * 60_000));
    expect(report.strays).toBeGreaterThanOrEqual(1);
    expect((await kubectl(['-n', ns, 'get', 'serviceaccount', 'kv-stray'])).code).not.toBe(0);
  });

  it('when another installation shares the cluster, then each one\'s reaper removes only its own installation\'s credentials', async () => {
    // Another installation: its own store, which knows nothing of this one's issuances.
    const other = await startKubevend(scratch.dir, policy, { instance: `${managedLabels['kubevend.io/instance']}-other` });
    try {
      const mine = (await vend('acme/api')).json();
      const theirs = (await vend('acme/api', {}, other)).json();
      const mineConfig = await saveKubeconfig(scratch.dir, mine.kubeconfig);
      const theirsConfig = await saveKubeconfig(scratch.dir, theirs.kubeconfig);
      // Past the grace period, and past both credentials' ends: each one's objects are strays to the other's store.
      const later = new Date(Date.now() + 3 * 3600_000);
      await other.reaper.runOnce(later);
      expect(await can(mineConfig, 'list', 'pods', ns)).toBe(true);
      expect(await refusedWithin(theirsConfig, 20_000)).toBe(true);
      await kv.reaper.runOnce(later);
      expect(await refusedWithin(mineConfig, 20_000)).toBe(true);
    } finally {
      await other.close();
    }
  });

  describe('output formats', () => {
    it('when format is exec-credential, then it is a client.authentication.k8s.io/v1 ExecCredential whose token works', async () => {
      const res = await vend('acme/api', { format: 'exec-credential' });
      expect(res.statusCode).toBe(201);
      const cred = res.json();
      expect(cred).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential' });
      expect(Date.parse(cred.status.expirationTimestamp)).toBeGreaterThan(Date.now() + 600_000);
      const kubeconfig = await kubeconfigForToken(scratch.dir, cred.status.token);
      expect((await kubectl(['-n', ns, 'get', 'pods'], { kubeconfig })).code).toBe(0);
    });

    it('when format is env, then KUBECONFIG_DATA holds a working kubeconfig and KUBE_TOKEN the token', async () => {
      const res = await vend('acme/api', { format: 'env' });
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const env = Object.fromEntries(res.body.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(env.KUBE_NAMESPACE).toBe(ns);
      const kubeconfig = await saveKubeconfig(scratch.dir, Buffer.from(env.KUBECONFIG_DATA!, 'base64').toString());
      expect((await kubectl(['get', 'pods'], { kubeconfig })).code).toBe(0);
      expect(parse(Buffer.from(env.KUBECONFIG_DATA!, 'base64').toString()).users[0].user.token).toBe(env.KUBE_TOKEN);
    });

    it('when exec-credential is asked for several clusters, then it is a 400', async () => {
      const res = await vend('acme/web', { format: 'exec-credential', clusters: ['local', 'local-b'] });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_request');
    });
  });
});
