import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/ports.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { engines, type FreshDatabase } from './helpers/store.ts';
import { labelled } from './helpers/vended.ts';

const postgres = engines.find((e) => e.name === 'postgres')!;

/** SQL on the server's maintenance database, as its administrator. */
async function adminSql(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// No audit record, no credential: the store is made to fail for real, at the database.
describe('fail closed when the store cannot be written', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let database: FreshDatabase;
  let store: Store;
  let kv: Kubevend;
  let ns: string;
  let policy: object;
  const role = `kv_app_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('fail-closed');
    await createViewerServiceAccount(ns, 'deployer');
    database = await postgres.fresh();
    await (await openStore(database.url)).close(); // the schema, made by its owner
    // kubevend connects as a role of its own, whose rights the test can take away.
    await database.raw(`create role ${role} login`);
    await database.raw(`grant usage, create on schema public to ${role}; grant all on all tables in schema public to ${role}`);
    const url = new URL(database.url);
    url.username = role;
    store = await openStore(url.toString());
    policy = {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, bind: { clusterRole: 'view' } }] }],
    };
    kv = await startKubevend(scratch.dir, policy, { store });
  });

  afterAll(async () => {
    await kv?.close();
    await store?.close();
    await adminSql(`alter database ${new URL(database.url).pathname.slice(1)} allow_connections true`).catch(() => {});
    await database?.drop();
    await adminSql(`drop role if exists ${role}`).catch(() => {});
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  /** The newest "request failed" log line of `logs` (by default, the app's under test). */
  const lastFailure = (logs = kv.logs) => logs.map((line) => JSON.parse(line) as { msg: string }).filter((line) => line.msg === 'request failed').at(-1);

  const vend = async () =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });

  it('when everything works, then a credential is issued (the baseline)', async () => {
    expect((await vend()).statusCode).toBe(201);
  });

  it('when the audit record cannot be written after the objects exist, then the caller gets 503 and the objects are deleted', async () => {
    await database.raw(`revoke insert on audit_records from ${role}`);
    try {
      const before = (await labelled('kubevend.io/pipeline=web')).length;
      const res = await vend();
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe('store_unavailable');
      expect(res.body).not.toMatch(/eyJ/);
      expect((await labelled('kubevend.io/pipeline=web')).length).toBe(before);
      const latest = (await store.issuances.list({ pipeline: 'web' }, { limit: 1 })).items[0];
      expect(latest?.state).toBe('failed');
      // The operator reads why in the log: the database's own words, not only "store unavailable".
      expect(lastFailure()).toMatchObject({ code: 'store_unavailable', cause: { message: expect.stringMatching(/permission denied for table audit_records/) } });
    } finally {
      await database.raw(`grant insert on audit_records to ${role}`);
    }
  });

  it('when the database is down, then the caller gets 503 and nothing is created', async () => {
    const name = new URL(database.url).pathname.slice(1);
    const before = (await labelled('kubevend.io/pipeline=web')).length;
    await adminSql(`alter database ${name} allow_connections false`);
    await adminSql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
    const res = await vend();
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('store_unavailable');
    expect((await labelled('kubevend.io/pipeline=web')).length).toBe(before);
    expect(lastFailure()).toMatchObject({ code: 'store_unavailable', cause: { message: expect.stringMatching(/connection|database/i) } });
  });

  it('when the store cannot answer a read, then the caller gets 503 store_unavailable and the log says why', async () => {
    // The database still refuses connections (above).
    const ciToken = await ci.mint(githubClaims('acme/web'));
    const res = await kv.app.inject({ method: 'GET', url: '/v1/issuances', headers: { authorization: `Bearer ${ciToken}` } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'store_unavailable', detail: 'the store could not answer; try again' });
    expect(res.body).not.toMatch(/connection|database/i);
    expect(lastFailure()).toMatchObject({ code: 'store_unavailable', cause: { type: 'StoreFailure', message: expect.stringMatching(/connection|database/i) } });
    expect(kv.logs.join('')).not.toContain(ciToken.split('.')[2]);
  });

  it('when a request fails in a way kubevend does not expect, then the caller gets a bare 500 and the log has the cause with its stack', async () => {
    // A fault of kubevend's own, which no real part produces on demand: a store whose listing
    // throws as a bug would.
    const broken: Store = { ...store, issuances: { ...store.issuances, list: async () => { throw new TypeError('Cannot read properties of undefined (reading \'items\')'); } } };
    const other = await startKubevend(scratch.dir, policy, { store: broken });
    try {
      const res = await other.app.inject({ method: 'GET', url: '/v1/issuances', headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ code: 'internal_error', detail: 'kubevend failed to handle the request' });
      expect(res.body).not.toMatch(/items/);
      expect(lastFailure(other.logs)).toMatchObject({ code: 'internal_error', cause: { type: 'TypeError', message: expect.stringMatching(/reading 'items'/), stack: expect.stringContaining('\n    at ') } });
    } finally {
      await other.close();
    }
  });
});
