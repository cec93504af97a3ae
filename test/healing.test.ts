import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/ports.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectl } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startServer, type ServerProcess } from './helpers/server-process.ts';
import { engines, type FreshDatabase } from './helpers/store.ts';

// A replica killed in the middle of a burst leaves pending issuances and their objects behind; the
// other replica finishes them once the dead one's lease lapses, in seconds, not after a grace of
// minutes meant for issuances still under way.
describe('healing what a dead replica left', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let database: FreshDatabase;
  let store: Store;
  let ns: string;
  let env: Record<string, string>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('healing');
    await createViewerServiceAccount(ns, 'deployer');
    database = await engines.find((e) => e.name === 'postgres')!.fresh();
    const policyFile = join(scratch.dir, 'policy.yaml');
    await writeFile(policyFile, stringify({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'burst', issuer: 'ci', match: { repository: 'acme/burst' }, rateLimit: { requests: 100_000, per: '1m' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
    }));
    const keyFile = join(scratch.dir, 'fingerprint.key');
    await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    // The full reaper runs rarely; healing runs with the lease, every few seconds.
    env = { KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_DATABASE_URL: database.url, KUBEVEND_FINGERPRINT_KEY_FILE: keyFile, KUBEVEND_REAPER_INTERVAL: '10m', KUBEVEND_INSTANCE: `heal-${randomUUID().slice(0, 8)}` };
    store = await openStore(database.url);
  });

  afterAll(async () => {
    for (const s of servers) s.crash();
    await Promise.all(servers.map((s) => s.code));
    await store?.close();
    await database?.drop();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  it('when a replica is killed mid-burst, then the other finishes its pending issuances and removes their objects within seconds', async () => {
    const victim = startServer(env);
    const healer = startServer(env);
    servers.push(victim, healer);
    const [victimUrl] = await Promise.all([victim.address(), healer.address()]);
    const tokens = await Promise.all(Array.from({ length: 80 }, () => ci.mint(githubClaims('acme/burst'))));
    let answered = 0;
    const burst = tokens.map((token) => fetch(`${victimUrl}/v1/credentials`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
    }).then(() => answered++, () => undefined));
    await expect.poll(() => answered, { interval: 5, timeout: 30_000 }).toBeGreaterThanOrEqual(5);
    victim.crash();
    await victim.code;
    const killedAt = Date.now();
    await Promise.all(burst);
    const pendingAtKill = (await store.issuances.list({ pipeline: 'burst', state: 'pending' }, { limit: 500 })).items;
    expect(pendingAtKill.length).toBeGreaterThan(0);

    // The lease lasts 10 s and healing runs every 3 s; well within the old grace of two minutes.
    await expect.poll(async () => (await store.issuances.list({ pipeline: 'burst', state: 'pending' }, { limit: 500 })).items.length,
      { interval: 500, timeout: 30_000 }).toBe(0);
    const healedInMs = Date.now() - killedAt;
    console.log(`healing: ${pendingAtKill.length} pending issuances finished ${healedInMs} ms after the kill`);
    for (const issuance of pendingAtKill) {
      expect((await store.issuances.get(issuance.id))?.state).toBe('failed');
      expect((await kubectl(['-n', ns, 'get', 'secret', `kv-burst-${issuance.id}`])).code).not.toBe(0);
    }
    const abandoned = (await store.audit.list({ pipeline: 'burst', outcome: 'failed' }, { limit: 500 })).items.filter((r) => r.reasonCode === 'abandoned');
    expect(abandoned.length).toBe(pendingAtKill.length);
    expect(await store.audit.verify()).toMatchObject({ ok: true });
  });
});
