import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer } from './helpers/ci-issuer.ts';
import { unreachableKubeconfig } from './helpers/cluster.ts';
import { scratchDir, startKubevend } from './helpers/kubevend.ts';
import { scrape, startServedKubevend, type ServedKubevend } from './helpers/served.ts';

// What Prometheus reads from the real server, two replicas on one PostgreSQL.
describe('GET /metrics', () => {
  let kv: ServedKubevend;
  const commit = 'a'.repeat(40);
  beforeAll(async () => {
    kv = await startServedKubevend('metrics', { replicas: 2, postgres: true, env: { KUBEVEND_COMMIT: commit, KUBEVEND_REAPER_INTERVAL: '0' } });
  });
  afterAll(async () => kv?.close());

  const vend = async (url: string, token: string) => fetch(`${url}/v1/credentials`, {
    method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  const live = async (url: string) => (await scrape(url)).get(`kubevend_live_credentials{pipeline="web",cluster="local"}`) ?? 0;

  it('when scraped, then Node\'s process and runtime metrics carry their standard names, with no kubevend_ prefix', async () => {
    const series = await scrape(kv.url);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(series.has(name), name).toBe(true);
    }
    expect([...series.keys()].filter((s) => /^kubevend_(process|nodejs)_/.test(s))).toEqual([]);
  });

  it('when scraped, then kubevend_build_info says the version, the Node.js version and the commit', async () => {
    const series = await scrape(kv.url);
    expect(series.get(`kubevend_build_info{version="0.1.0",node_version="${process.version}",commit="${commit}"}`)).toBe(1);
  });

  it('when credentials are issued on both replicas and one is revoked, then every replica reports the same live count per pipeline and cluster', async () => {
    const before = await live(kv.urls[0]!);
    const issued = [];
    for (const url of [kv.urls[0]!, kv.urls[0]!, kv.urls[1]!]) {
      const res = await vend(url, await kv.ciToken());
      expect(res.status).toBe(201);
      issued.push((await res.json()) as { issuanceId: string });
    }
    expect(await Promise.all(kv.urls.map(live))).toEqual([before + 3, before + 3]);
    const revoked = await fetch(`${kv.urls[1]}/v1/issuances/${issued[0]!.issuanceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${await kv.ciToken()}` } });
    expect(revoked.status).toBe(200);
    expect(await Promise.all(kv.urls.map(live))).toEqual([before + 2, before + 2]);
  });

  it('when the store and the cluster answer, then kubevend_store_up and kubevend_cluster_up say 1', async () => {
    const series = await scrape(kv.url);
    expect(series.get('kubevend_store_up')).toBe(1);
    expect(series.get('kubevend_cluster_up{cluster="local"}')).toBe(1);
  });

  it('when requests are refused for different reasons, then kubevend_refusals_total counts each by its problem code', async () => {
    const count = async (code: string) => (await scrape(kv.url)).get(`kubevend_refusals_total{code="${code}"}`) ?? 0;
    const [stranger, junk, lost] = await Promise.all([count('pipeline_not_matched'), count('token_malformed'), count('route_not_found')]);
    expect((await vend(kv.url, await kv.strangerToken())).status).toBe(403);
    expect((await vend(kv.url, 'not-a-jwt')).status).toBe(401);
    expect((await fetch(`${kv.url}/v1/nothing-here`)).status).toBe(404);
    expect(await count('pipeline_not_matched')).toBe(stranger + 1);
    expect(await count('token_malformed')).toBe(junk + 1);
    expect(await count('route_not_found')).toBe(lost + 1);
  });
});

// The inputs of the alerts on a ledger that is gone and a cluster that does not answer.
describe('GET /metrics when a dependency is down', () => {
  it('when the store is closed and a cluster refuses connections, then kubevend_store_up and that cluster\'s kubevend_cluster_up say 0', async () => {
    const scratch = await scratchDir();
    const down = await unreachableKubeconfig(scratch.dir);
    const ci = await createTestIssuer(scratch.dir);
    const kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }, { name: 'down', kubeconfig: down }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: 'metrics-down', serviceAccount: 'deployer' }] }],
    });
    try {
      await kv.store.close();
      const text = (await kv.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/^kubevend_store_up 0$/m);
      expect(text).not.toMatch(/^kubevend_live_credentials\{/m);
      expect(text).toMatch(/^kubevend_cluster_up\{cluster="down"\} 0$/m);
      expect(text).toMatch(/^kubevend_cluster_up\{cluster="local"\} 1$/m);
    } finally {
      await kv.close().catch(() => {});
      await scratch.cleanup();
    }
  });
});
