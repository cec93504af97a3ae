import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { Grant, Store } from '../src/store/ports.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { engines, freshStore } from './helpers/store.ts';
import { labelled } from './helpers/vended.ts';

/** What happens around the grant transaction: before it starts, and after it answered but before the service reads the answer. */
interface AroundGrant {
  before(grants: Grant[]): Promise<void>;
  after(grants: Grant[]): Promise<void>;
}

// The grant transaction's refusal says why it refused, and the caller is told that reason even when
// the store has changed again by the time the service reads the answer. Those changes land in a
// window of one database round trip, so the test places them there by wrapping the real store's
// commit (no real part opens that window on demand); everything else is real.
describe.each(engines)('a grant refused while an issuance is in flight, on $name', (engine) => {
  const t = freshStore(engine, 'all');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let ns: string;
  let around: AroundGrant | undefined;

  beforeAll(async () => {
    scratch = await scratchDir();
    [ci, sso] = await Promise.all([createTestIssuer(scratch.dir), createTestIssuer(scratch.dir)]);
    ns = await createNamespace('grant-race');
    await createViewerServiceAccount(ns, 'deployer');
    const policy = {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'api', issuer: 'ci', match: { repository: 'acme/api' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
      operators: [{ name: 'platform', issuer: 'sso', match: { groups: 'platform' }, role: 'admin' }],
    };
    const store: Store = {
      ...t.store,
      grants: {
        commit: async (grants) => {
          const hook = around;
          around = undefined;
          await hook?.before(grants);
          const answer = await t.store.grants.commit(grants);
          await hook?.after(grants);
          return answer;
        },
      },
    };
    kv = await startKubevend(scratch.dir, policy, { store });
  });

  afterAll(async () => {
    await kv?.close();
    if (ns) await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async () =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/api'))}` } });
  const asAdmin = async (method: 'POST' | 'DELETE', url: string, payload?: object) => {
    const res = await kv.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${await sso.mint({ sub: 'ada', groups: ['platform'] })}` } });
    expect(res.statusCode, res.body).toBe(200);
  };
  const suspend = () => asAdmin('POST', '/v1/issuances/revoke', { pipeline: 'api' });
  const lift = () => asAdmin('DELETE', '/v1/suspensions/api');

  /** The issuance of a refused request: failed, nothing of it left in the cluster, and the ledger's issuance records about it. */
  async function refusedIssuance(requestId: string) {
    const [issuance] = (await t.store.issuances.list({ pipeline: 'api' }, { limit: 1 })).items;
    expect(issuance?.state).toBe('failed');
    expect(await labelled(`kubevend.io/issuance=${issuance!.id}`)).toEqual([]);
    const records = (await t.store.audit.list({ pipeline: 'api', kind: 'issuance' })).items.filter((r) => r.requestId === requestId);
    return records.map((r) => [r.outcome, r.reasonCode]);
  }

  it('when a pipeline is suspended while its credential is issued and lifted before the refusal is read, then the job is refused as suspended and nothing is handed out', async () => {
    around = { before: suspend, after: lift };
    const res = await vend();
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('pipeline_suspended');
    expect(await refusedIssuance(res.headers['x-request-id'] as string)).toEqual([['denied', 'pipeline_suspended']]);
    // Lifted, the pipeline issues again.
    expect((await vend()).statusCode).toBe(201);
  });

  it('when the reaper takes an issuance in flight and the pipeline is suspended just after, then the job is told the store lost it, not that it was suspended', async () => {
    around = {
      // What the reaper does to a pending issuance it lists as stale.
      before: async ([grant]) => {
        const pending = await t.store.issuances.get(grant!.issuanceId);
        expect(await t.store.issuances.claim(grant!.issuanceId, pending!.owner)).toBe(true);
      },
      after: suspend,
    };
    const res = await vend();
    await lift();
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json().code).toBe('store_unavailable');
    expect(await refusedIssuance(res.headers['x-request-id'] as string)).toEqual([['failed', 'store_unavailable']]);
  });
});
