import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../src/errors.ts';
import { createKubeGateway } from '../src/kube/gateway.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { countingApiServer, type CountingProxy } from './helpers/counting-proxy.ts';
import { throttledIdentity, type ThrottledIdentity } from './helpers/flow-control.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// Back-pressure towards a cluster: kubevend keeps at most `maxConcurrentCalls` calls at its API
// server, and when the API server turns calls away (429 from API Priority and Fairness) it retries
// them within their deadline instead of failing the CI job.
describe('back-pressure towards a cluster\'s API server', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let ns: string;
  const proxies: CountingProxy[] = [];
  const apps: Kubevend[] = [];
  let throttled: ThrottledIdentity | undefined;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('back-pressure');
    await createViewerServiceAccount(ns, 'deployer');
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await throttled?.remove();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const policy = (cluster: Record<string, unknown>) => ({
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
    clusters: [{ name: 'local', ...cluster }],
    pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, rateLimit: { requests: 1000, per: '1m' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
  });
  const start = async (cluster: Record<string, unknown>) => {
    const app = await startKubevend(scratch.dir, policy(cluster));
    apps.push(app);
    return app;
  };
  const proxied = async (name: string) => {
    const { proxy, kubeconfig } = await countingApiServer(scratch.dir, name);
    proxies.push(proxy);
    return { proxy, kubeconfig };
  };
  const issueAtOnce = async (kv: Kubevend, count: number) => {
    const tokens = await Promise.all(Array.from({ length: count }, () => ci.mint(githubClaims('acme/web'))));
    return Promise.all(tokens.map((token) => kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${token}` } })));
  };

  it('when a cluster allows 2 concurrent calls, then 10 issuances at once all succeed with never more than 2 requests at its API server', async () => {
    // The same 10 issuances without the limit show that the proxy sees them overlap.
    const open = await proxied('unlimited');
    const unlimited = await issueAtOnce(await start({ kubeconfig: open.kubeconfig }), 10);
    expect(unlimited.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    expect(open.proxy.peak()).toBeGreaterThan(2);

    const limited = await proxied('limited');
    const answers = await issueAtOnce(await start({ kubeconfig: limited.kubeconfig, maxConcurrentCalls: 2 }), 10);
    expect(answers.map((r) => r.statusCode), answers.map((r) => r.body).join('\n')).toEqual(Array(10).fill(201));
    expect(limited.proxy.peak()).toBe(2);
  });

  it('when the only slot is held by a call the API server never answers, then the next call waits no longer than its deadline, and calls go through once it answers again', async () => {
    const { proxy, kubeconfig } = await proxied('hold');
    const gateway = createKubeGateway([{ name: 'local', kubeconfig, maxConcurrentCalls: 1 }], { callTimeoutMs: 1000 });
    proxy.hold();
    const first = gateway.version('local').then(() => undefined, (err: Problem) => err);
    await new Promise((r) => setTimeout(r, 300));
    const queuedAt = performance.now();
    const second = gateway.version('local').then(() => undefined, (err: Problem) => err);
    await new Promise((r) => setTimeout(r, 300));
    // The second call waits for the slot: it has not reached the API server.
    expect(proxy.accepted()).toBe(1);
    expect((await second)?.code).toBe('kube_timeout');
    expect(performance.now() - queuedAt).toBeLessThan(1500);
    expect((await first)?.code).toBe('kube_timeout');
    // It reached the API server when the first gave its slot up at its own deadline.
    expect(proxy.accepted()).toBe(2);
    proxy.forward();
    expect(await gateway.version('local')).toMatch(/^v\d+\.\d+\.\d+/);
  });

  describe('when API Priority and Fairness throttles kubevend\'s own identity', () => {
    beforeAll(async () => {
      throttled = await throttledIdentity(scratch.dir, ns);
    });

    it('when it rejects kubevend\'s calls with 429, then issuances are retried into success or answered 503 cluster_throttled with Retry-After, never a 500, and the retries are counted', async () => {
      const kv = await start({ kubeconfig: throttled!.kubeconfig });
      const rejectedBefore = await throttled!.rejected();
      const answers = await issueAtOnce(kv, 40);

      const statuses = answers.map((r) => r.statusCode);
      expect(statuses.every((s) => s === 201 || s === 503), answers.map((r) => r.body).join('\n')).toBe(true);
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(0);
      for (const refused of answers.filter((r) => r.statusCode === 503)) {
        expect(refused.json().code).toBe('cluster_throttled');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      // The API server did turn calls away, and kubevend counted the ones it retried.
      expect(await throttled!.rejected()).toBeGreaterThan(rejectedBefore);
      const metrics = (await kv.app.inject({ method: 'GET', url: '/metrics' })).body;
      const retried = [...metrics.matchAll(/^kubevend_kube_request_duration_seconds_count\{cluster="local",verb="[a-z_]+",code="throttled"\} (\d+)/gm)];
      expect(retried.reduce((sum, m) => sum + Number(m[1]), 0)).toBeGreaterThan(0);
    });

    it('when calls are still turned away as their deadline nears, then they fail with cluster_throttled and the server\'s Retry-After', async () => {
      // A deadline with room for one wait of Retry-After (1 s or more) at most.
      const gateway = createKubeGateway([{ name: 'local', kubeconfig: throttled!.kubeconfig }], { callTimeoutMs: 1500 });
      const secret = (i: number) => ({ apiVersion: 'v1', kind: 'Secret' as const, metadata: { name: `throttled-${i}`, namespace: ns, labels: { 'kubevend-test/back-pressure': 'yes' } } });
      const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => gateway.create('local', secret(i)).then(() => undefined, (err: Problem) => err)));
      const failures = outcomes.filter((o): o is Problem => o !== undefined);
      expect(failures.length).toBeGreaterThan(0);
      // Those turned away gave up when the next wait would not fit, with the server's Retry-After.
      // (On a loaded machine an admitted call can still be slow enough to reach the deadline.)
      const turnedAway = failures.filter((f) => f.code === 'cluster_throttled');
      expect(turnedAway.length).toBeGreaterThan(0);
      for (const failure of turnedAway) expect(failure.retryAfter).toBeGreaterThanOrEqual(1);
      expect(failures.filter((f) => f.code !== 'cluster_throttled' && f.code !== 'kube_timeout')).toEqual([]);
    });
  });
});
