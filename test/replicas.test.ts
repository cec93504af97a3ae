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

  const vend = (url: string, token: string) =>
    fetch(`${url}/v1/credentials`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('when a CI token used on one replica is replayed against the other, then the other refuses it', async () => {
    const token = await ci.mint(githubClaims('acme/web'));
    expect((await vend(urlA, token)).status).toBe(201);
    const replay = await vend(urlB, token);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('token_replayed');
  });

  it('when one replica revokes a credential, then the other sees it revoked', async () => {
    const issued = (await (await vend(urlA, await ci.mint(githubClaims('acme/web')))).json()) as { issuanceId: string };
    const revoke = await fetch(`${urlA}/v1/issuances/${issued.issuanceId}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` },
    });
    expect(revoke.status).toBe(200);
    const seen = await fetch(`${urlB}/v1/issuances/${issued.issuanceId}`, { headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(seen.status).toBe(200);
    expect(((await seen.json()) as { state: string }).state).toBe('revoked');
  });
});
