import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startServer, type ServerProcess } from './helpers/server-process.ts';
import { engines, type FreshDatabase } from './helpers/store.ts';
import { createKubevendClient, issueCredential } from '../packages/client/src/index.ts';

// Two kubevend processes sharing one PostgreSQL agree on replays, revocations, rate limits and
// suspensions.
describe('two replicas on one PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let database: FreshDatabase;
  let ns: string;
  let a: ServerProcess;
  let b: ServerProcess;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    ns = await createNamespace('replicas');
    await createViewerServiceAccount(ns, 'deployer');
    database = await engines.find((e) => e.name === 'postgres')!.fresh();
    const policyFile = join(scratch.dir, 'policy.yaml');
    await writeFile(policyFile, stringify({
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
        { name: 'limited', issuer: 'ci', match: { repository: 'acme/limited' }, rateLimit: { requests: 10, per: '1h' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
        { name: 'stoppable', issuer: 'ci', match: { repository: 'acme/stoppable' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
      ],
      operators: [{ name: 'admins', issuer: 'sso', match: { groups: 'platform' }, role: 'admin' }],
    }));
    const keyFile = join(scratch.dir, 'fingerprint.key');
    await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    const env = { KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_DATABASE_URL: database.url, KUBEVEND_FINGERPRINT_KEY_FILE: keyFile, KUBEVEND_REAPER_INTERVAL: '0' };
    a = startServer(env);
    b = startServer(env);
    [urlA, urlB] = await Promise.all([a.address(), b.address()]);
  });

  afterAll(async () => {
    a?.kill();
    b?.kill();
    await Promise.all([a?.code, b?.code]);
    await database?.drop();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  // As another service would call kubevend: through the typed client generated from openapi.yaml.
  const clientOf = (url: string, token: string | (() => Promise<string>)) => createKubevendClient(url, { token });
  const aJob = () => ci.mint(githubClaims('acme/web'));

  it('when a CI token used on one replica is replayed against the other, then the other refuses it', async () => {
    const token = await aJob();
    const first = await clientOf(urlA, token).POST('/v1/credentials', { body: {} });
    expect(first.response.status).toBe(201);
    const replay = await clientOf(urlB, token).POST('/v1/credentials', { body: {} });
    expect(replay.response.status).toBe(401);
    expect(replay.error?.code).toBe('token_replayed');
  });

  it('when one replica revokes a credential, then the other sees it revoked', async () => {
    const { data: issued } = await issueCredential(clientOf(urlA, aJob), {});
    expect(issued?.issuanceId).toBeDefined();
    const revoked = await clientOf(urlA, aJob).DELETE('/v1/issuances/{id}', { params: { path: { id: issued!.issuanceId } } });
    expect(revoked.data?.state).toBe('revoked');
    const seen = await clientOf(urlB, aJob).GET('/v1/issuances/{id}', { params: { path: { id: issued!.issuanceId } } });
    expect(seen.data?.state).toBe('revoked');
    expect(seen.data?.pipeline).toBe('web');
  });

  it('when requests of a rate-limited pipeline are spread over both replicas, then together they allow the policy\'s figure, not twice it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { response } = await clientOf(i % 2 ? urlA : urlB, await ci.mint(githubClaims('acme/limited'))).POST('/v1/credentials', { body: {} });
      statuses.push(response.status);
    }
    const granted = statuses.filter((s) => s === 201).length;
    expect(granted).toBeGreaterThanOrEqual(9);
    expect(granted).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s !== 201 && s !== 429)).toEqual([]);
  });

  it('when an admin suspends a pipeline on one replica, then the other refuses it at once, until it is lifted', async () => {
    const admin = () => sso.mint({ sub: 'ops', groups: ['platform'] });
    const job = () => ci.mint(githubClaims('acme/stoppable'));
    const pulled = await clientOf(urlA, admin).POST('/v1/issuances/revoke', { body: { pipeline: 'stoppable' } });
    expect(pulled.response.status).toBe(200);
    const refused = await clientOf(urlB, job).POST('/v1/credentials', { body: {} });
    expect(refused.error?.code).toBe('pipeline_suspended');
    // A refusal the pipeline answers for is a record of its own on PostgreSQL too.
    const denied = await clientOf(urlA, admin).GET('/v1/audit', { params: { query: { pipeline: 'stoppable', outcome: 'denied' } } });
    expect(denied.data?.items.map((r) => r.reasonCode)).toContain('pipeline_suspended');
    const lifted = await clientOf(urlB, admin).DELETE('/v1/suspensions/{pipeline}', { params: { path: { pipeline: 'stoppable' } } });
    expect(lifted.response.status).toBe(200);
    // Within the suspension cache's second on the other replica.
    await expect.poll(async () => (await clientOf(urlA, job).POST('/v1/credentials', { body: {} })).response.status, { timeout: 3000 }).toBe(201);
  });
});
