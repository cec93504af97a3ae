import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/ports.ts';
import { createTestIssuer } from './helpers/ci-issuer.ts';
import { hangingApiServer, startHangingProxy, type HangingProxy } from './helpers/hanging-proxy.ts';
import { find, renderChart, valueSetFile } from './helpers/helm.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { engines, type FreshDatabase } from './helpers/store.ts';

// A probe with a 2 s timeout must never wait on a cluster: one hung API server would otherwise take
// every replica out of service. The API server and PostgreSQL behind these proxies are real; only
// what passes through a proxy is made to hang.
describe('GET /readyz while an API server or the store hangs', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let stuck: HangingProxy;
  let database: FreshDatabase;
  let storeProxy: HangingProxy;
  let store: Store;
  let kv: Kubevend;
  let url: string;
  /** The chart's readiness probe, as the kubelet is given it. */
  let chartProbe: { httpGet: { path: string }; timeoutSeconds: number };

  beforeAll(async () => {
    const { manifests } = await renderChart('kv', 'kubevend', ['-f', valueSetFile('sqlite-single')]);
    const pod = (find(manifests, 'Deployment').spec as { template: { spec: { containers: { readinessProbe: typeof chartProbe }[] } } }).template.spec;
    chartProbe = pod.containers[0]!.readinessProbe;
    scratch = await scratchDir();
    const ci = await createTestIssuer(scratch.dir);
    const hung = await hangingApiServer(scratch.dir, 'stuck');
    stuck = hung.proxy;
    stuck.hang();
    database = await engines.find((e) => e.name === 'postgres')!.fresh();
    const direct = new URL(database.url);
    storeProxy = await startHangingProxy({ host: direct.hostname, port: Number(direct.port) });
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${storeProxy.port}`;
    store = await openStore(proxied.toString());
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }, { name: 'stuck', kubeconfig: hung.kubeconfig }],
      pipelines: [],
    }, { store });
    await kv.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(kv.app.server.address() as AddressInfo).port}/readyz`;
  });

  afterAll(async () => {
    await kv?.close();
    await store?.close();
    await storeProxy?.close();
    await stuck?.close();
    await database?.drop();
    await scratch?.cleanup();
  });

  /** One probe over a real connection, as the kubelet makes it: its answer and how long it took. */
  async function probe() {
    const started = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; checks: { store: { ok: boolean; detail?: string }; clusters: Record<string, { ok: boolean; detail?: string }> } };
    return { status: res.status, body, ms: performance.now() - started, reqId: res.headers.get('x-request-id')! };
  }
  const versionCalls = async () =>
    Number((await kv.metrics.registry.metrics()).match(/^kubevend_kube_request_duration_seconds_count\{cluster="local",verb="version",code="ok"\} (\d+)/m)?.[1] ?? 0);

  it('when one API server hangs, then every probe is answered at once, 200 degraded, naming it', async () => {
    const probes: { reqId: string; ms: number }[] = [];
    // Over more than one background round, while the hung cluster's call is under way.
    for (let i = 0; i < 24; i++) {
      const { status, body, ms, reqId } = await probe();
      probes.push({ reqId, ms });
      expect(status).toBe(200);
      expect(body.status).toBe('degraded');
      expect(body.checks.store).toEqual({ ok: true });
      expect(body.checks.clusters.local).toEqual({ ok: true, detail: 'v1.37.2' });
      expect(body.checks.clusters.stuck).toEqual({ ok: false, detail: 'the API server did not answer within 2000 ms' });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // kubevend's own time to answer, from its log: far below the 2 s a wait on the hung cluster would
    // take (about 5 ms here; the bound leaves room for a loaded machine's pauses). The caller's adds
    // this test's load, still within the probe's timeout.
    const answered = kv.logs.map((l) => JSON.parse(l) as { reqId?: string; responseTime?: number })
      .filter((l) => l.responseTime !== undefined && probes.some((p) => p.reqId === l.reqId));
    expect(answered).toHaveLength(probes.length);
    expect(Math.max(...answered.map((l) => l.responseTime!))).toBeLessThan(500);
    expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(2000);
  });

  it('when the hung API server answers again, then readiness says ok within a check interval', async () => {
    stuck.resume();
    const started = Date.now();
    let last = await probe();
    while (last.body.status !== 'ok' && Date.now() - started < 8000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      last = await probe();
    }
    expect(last.body.checks.clusters.stuck).toEqual({ ok: true, detail: 'v1.37.2' });
    expect(last.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(7500);
  });

  it('when the store hangs, then readiness answers 503 unavailable within about a second, and 200 once it is back', async () => {
    storeProxy.hang();
    for (let i = 0; i < 2; i++) {
      const { status, body, ms } = await probe();
      expect(status).toBe(503);
      expect(body.status).toBe('unavailable');
      expect(body.checks.store).toEqual({ ok: false, detail: 'the store did not answer within 1000 ms' });
      expect(body.checks.clusters.local!.ok).toBe(true);
      // Within the chart's probe timeout: the kubelet reads the 503, rather than a timeout.
      expect(ms).toBeLessThan(chartProbe.timeoutSeconds * 1000);
    }
    expect(chartProbe.httpGet.path).toBe('/readyz');
    storeProxy.resume();
    const started = Date.now();
    let last = await probe();
    while (last.status !== 200 && Date.now() - started < 8000) last = await probe();
    expect(last.body.checks.store).toEqual({ ok: true });
  });

  it('when nobody probes, then the clusters are still checked every few seconds; once the app closes, no more', async () => {
    const before = await versionCalls();
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(await versionCalls()).toBeGreaterThan(before);
    await kv.app.close();
    const closed = await versionCalls();
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(await versionCalls()).toBe(closed);
  });
});
