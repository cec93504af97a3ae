import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, unreachableKubeconfig } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// What an operator watches: metrics, readiness, and how kubevend behaves under pressure.
describe('metrics, readiness, rate limits and admission', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let kv: Kubevend;
  let policy: Record<string, unknown>;
  let ns: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('operations');
    await createViewerServiceAccount(ns, 'deployer');
    const down = await unreachableKubeconfig(scratch.dir);
    policy = {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }, { name: 'down', kubeconfig: down }],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer', kinds: ['short-lived', 'durable'] }] },
        { name: 'chatty', issuer: 'ci', match: { repository: 'acme/chatty' }, rateLimit: { requests: 2, per: '1m' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
      ],
    };
    kv = await startKubevend(scratch.dir, policy);
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async (repository: string, body: object = {}, app = kv) =>
    app.app.inject({ method: 'POST', url: '/v1/credentials', payload: body, headers: { authorization: `Bearer ${await ci.mint(githubClaims(repository))}` } });
  const metrics = async () => (await kv.app.inject({ method: 'GET', url: '/metrics' })).body;

  it('when credentials are granted and denied, then the counters and latency histograms say so', async () => {
    expect((await vend('acme/web')).statusCode).toBe(201);
    expect((await vend('acme/unknown')).statusCode).toBe(403);
    await kv.reaper.runOnce();
    const text = await metrics();
    expect(text).toMatch(/^kubevend_issuances_total\{outcome="granted",pipeline="web",cluster="local",mode="existing",code=""\} [1-9]/m);
    expect(text).toMatch(/^kubevend_issuances_total\{outcome="denied",pipeline="",cluster="",mode="",code="pipeline_not_matched"\} [1-9]/m);
    expect(text).toMatch(/^kubevend_kube_request_duration_seconds_count\{cluster="local",verb="create_token",code="ok"\} [1-9]/m);
    expect(text).toMatch(/^kubevend_http_request_duration_seconds_count\{method="POST",route="\/v1\/credentials",status="201"\} [1-9]/m);
    expect(text).toMatch(/^kubevend_reaper_runs_total\{result="(ok|error)"\} [1-9]/m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
  });

  it('when a cluster does not answer, then readiness stays up but says degraded and which cluster', async () => {
    const res = await kv.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('degraded');
    expect(body.checks.store).toEqual({ ok: true });
    expect(body.checks.clusters.local).toEqual({ ok: true, detail: 'v1.37.2' });
    expect(body.checks.clusters.down.ok).toBe(false);
  });

  it('when the store does not answer, then readiness is 503 unavailable', async () => {
    const broken = await startKubevend(scratch.dir, policy);
    await broken.store.close();
    try {
      const res = await broken.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unavailable', checks: { store: { ok: false } } });
    } finally {
      await broken.close().catch(() => {});
    }
  });

  it('when a pipeline asks more often than its rate limit, then it gets 429 with Retry-After', async () => {
    expect((await vend('acme/chatty')).statusCode).toBe(201);
    expect((await vend('acme/chatty')).statusCode).toBe(201);
    const res = await vend('acme/chatty');
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await vend('acme/web')).statusCode).toBe(201);
    // Refusals past a limit come in bursts: they are counted per address, never a record each.
    const denied = (await kv.store.audit.list({ kind: 'issuance', outcome: 'denied' })).items;
    expect(denied.map((r) => r.reasonCode)).not.toContain('rate_limited');
  });

  it('when more issuing requests arrive at once than the replica runs, then they wait their turn and every one is served', async () => {
    const small = await startKubevend(scratch.dir, policy, { maxInFlight: 1 });
    try {
      const results = await Promise.all(Array.from({ length: 4 }, () => vend('acme/web', { kind: 'durable' }, small)));
      expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    } finally {
      await small.close();
    }
  });

  it('when a pipeline\'s queue is full, then the excess is refused with 503 overloaded and a Retry-After from the queue', async () => {
    const small = await startKubevend(scratch.dir, policy, { maxInFlight: 1, queue: { length: 1 }, refusalWindowMs: 200 });
    try {
      const results = await Promise.all(Array.from({ length: 4 }, () => vend('acme/web', { kind: 'durable' }, small)));
      expect(results.filter((r) => r.statusCode === 201).length).toBeGreaterThanOrEqual(2);
      const refused = results.filter((r) => r.statusCode === 503);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) {
        expect(r.json().code).toBe('overloaded');
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      // Nothing was tried for them: the ledger counts them per address, and holds no record of each.
      const counted = async () => (await small.store.audit.list({ kind: 'refusals' })).items
        .reduce((sum, r) => sum + Number(/overloaded (\d+)/.exec(r.reason ?? '')?.[1] ?? 0), 0);
      await expect.poll(counted).toBe(refused.length);
      expect((await small.store.audit.list({ kind: 'issuance', outcome: 'failed' })).items).toEqual([]);
      expect((await small.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });
});
