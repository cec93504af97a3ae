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
import { createKubevendClient } from '../src/client/index.ts';

// Two kubevend processes sharing one PostgreSQL agree on replays and on revocations.
describe('two replicas on one PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let database: FreshDatabase;
  let ns: string;
  let a: ServerProcess;
  let b: ServerProcess;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('replicas');
    await createViewerServiceAccount(ns, 'deployer');
    database = await engines.find((e) => e.name === 'postgres')!.fresh();
    const policyFile = join(scratch.dir, 'policy.yaml');
    await writeFile(policyFile, stringify({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
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
    const { data: issued } = await clientOf(urlA, aJob).POST('/v1/credentials', { body: {} });
    expect(issued?.issuanceId).toBeDefined();
    const revoked = await clientOf(urlA, aJob).DELETE('/v1/issuances/{id}', { params: { path: { id: issued!.issuanceId } } });
    expect(revoked.data?.state).toBe('revoked');
    const seen = await clientOf(urlB, aJob).GET('/v1/issuances/{id}', { params: { path: { id: issued!.issuanceId } } });
    expect(seen.data?.state).toBe('revoked');
    expect(seen.data?.pipeline).toBe('web');
  });
});
