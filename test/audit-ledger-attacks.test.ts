import { execFile } from 'node:child_process';
import { createHash, createSecretKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { receiptKey } from '../src/ledger/receipt.ts';
import { publicKeyPem } from '../src/ledger/signing-key.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { rewriteFrom } from './helpers/ledger-tamper.ts';
import { newSigningKey } from './helpers/signing-key.ts';
import { engines, freshStore } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

const run = promisify(execFile);
const verifyCli = join(import.meta.dirname, '..', 'src', 'cli', 'verify-audit.ts');

// What someone with a database shell can make the ledger's own checks say, on the real server and
// the command an auditor runs, on both engines.
describe.each(engines)('a ledger tampered with in $name, held to a saved checkpoint', (engine) => {
  const t = freshStore(engine);
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let sso: TestIssuer;
  let auditor: string;
  let keysFile: string;
  const key = newSigningKey();
  // One per database: the signer's memory of what it signed in that ledger.
  const stateFile = () => join(scratch.dir, `signer-${createHash('sha256').update(t.database.url).digest('hex').slice(0, 12)}.json`);

  beforeAll(async () => {
    scratch = await scratchDir();
    sso = await createTestIssuer(scratch.dir);
    auditor = await sso.mint({ sub: 'grace', groups: ['audit'] });
    keysFile = join(scratch.dir, 'keys.pem');
    await writeFile(keysFile, publicKeyPem(key.publicKey));
  });
  afterAll(async () => scratch?.cleanup());

  const start = () => startKubevend(scratch.dir, {
    issuers: [{ name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile }],
    clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
    pipelines: [],
    operators: [{ name: 'auditors', issuer: 'sso', match: { groups: 'audit' }, role: 'auditor' }],
  }, { store: t.store, audit: { checkpoints: { key, origin: 'attacks', everyRecords: 4, intervalMs: 3_600_000, stateFile: stateFile() } } });

  async function withCheckpointAt4(kv: Kubevend) {
    for (let i = 0; i < 4; i++) await t.store.audit.append(grantedRecord());
    await expect.poll(async () => (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).json().size).toBe(4);
    return (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).json();
  }
  const verifyOverApi = async (kv: Kubevend, checkpoint: unknown) =>
    (await kv.app.inject({ method: 'POST', url: '/v1/audit/checkpoint/verify', payload: checkpoint as object, headers: { authorization: `Bearer ${auditor}` } })).json();
  async function verifyByCommand(checkpoint: unknown) {
    const file = join(scratch.dir, 'cp.json');
    await writeFile(file, JSON.stringify(checkpoint));
    const env = { ...process.env, KUBEVEND_DATABASE_URL: t.database.url };
    return run(process.execPath, [verifyCli, '--checkpoint', file, '--keys', keysFile], { env })
      .then(({ stdout }) => ({ code: 0, out: stdout }), (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }));
  }

  it('when a signed record is changed and the prune anchor moved onto the checkpoint\'s head, then the checkpoint does not verify', async () => {
    const kv = await start();
    try {
      const cp1 = await withCheckpointAt4(kv);
      await t.database.raw('update audit_records set namespace = \'kube-system\' where id = 2');
      expect(await verifyOverApi(kv, cp1)).toMatchObject({ ok: false, recordId: 2, problem: 'content_changed' });

      await t.database.raw(`update audit_chain set anchor_id = 4, anchor_hash = '${cp1.headHash}' where id = 1`);
      const listed = (await kv.app.inject({ method: 'GET', url: '/v1/audit?limit=10', headers: { authorization: `Bearer ${auditor}` } })).json();
      expect(listed.items.find((r: { id: number }) => r.id === 2).namespace).toBe('kube-system');
      expect(await verifyOverApi(kv, cp1)).toMatchObject({ ok: false, problem: 'below_anchor' });
      expect((await kv.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${auditor}` } })).json()).toMatchObject({ ok: false, problem: 'below_anchor' });
      expect(await verifyByCommand(cp1)).toMatchObject({ code: 1, out: expect.stringContaining('below_anchor') });
    } finally {
      await kv.close();
    }
  });

  it('when records after a checkpoint are changed and the head moved back onto the checkpoint, then the ledger does not verify', async () => {
    const kv = await start();
    try {
      const cp1 = await withCheckpointAt4(kv);
      await t.store.audit.append(grantedRecord());
      await t.database.raw('update audit_records set namespace = \'kube-system\' where id = 5');
      await t.database.raw(`update audit_chain set last_id = 4, head_hash = '${cp1.headHash}' where id = 1`);
      expect(await verifyOverApi(kv, cp1)).toMatchObject({ ok: false, problem: 'outside_chain' });
      expect(await verifyByCommand(cp1)).toMatchObject({ code: 1, out: expect.stringContaining('outside_chain') });
    } finally {
      await kv.close();
    }
  });

  it('when the signed history is rewritten and the checkpoints deleted, then no second head is signed for the same records, even after a restart', async () => {
    let kv = await start();
    const cp1 = await withCheckpointAt4(kv);
    await rewriteFrom(t.store, t.database, 2);
    await t.database.raw('delete from audit_checkpoints');
    for (let i = 0; i < 4; i++) await t.store.audit.append(grantedRecord());
    await expect.poll(() => kv.logs.some((l) => l.includes('audit checkpoint not signed'))).toBe(true);
    await kv.close();
    kv = await start();
    try {
      for (let i = 0; i < 4; i++) await t.store.audit.append(grantedRecord());
      await expect.poll(() => kv.logs.some((l) => l.includes('audit checkpoint not signed'))).toBe(true);
      // Nothing signed over the forged records: no checkpoint at all, and none that starts below the first.
      const signed = await t.database.raw('select size, from_size, body from audit_checkpoints');
      expect(signed.filter((row) => Number(row.from_size) < cp1.size)).toEqual([]);
      expect((await kv.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^kubevend_audit_checkpoint_refused 1$/m);
      expect((await kv.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'degraded', checks: { auditSigning: { ok: false } } });
    } finally {
      await kv.close();
    }
  });
});

// What the public parts of the ledger (its checkpoint) open to someone with no credential at all.
describe('receipts to a caller without credentials', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let kv: Kubevend;
  let ns: string;
  const key = newSigningKey();

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('receipts');
    await createViewerServiceAccount(ns, 'deployer');
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
    }, { audit: { checkpoints: { key, origin: 'receipts', everyRecords: 1, intervalMs: 3_600_000 } } });
  });
  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  it('when the public checkpoint\'s size and head hash are used as a receipt\'s id and hash, then no record is given, while the job that got the credential gets its own', async () => {
    const issued = await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(issued.statusCode).toBe(201);
    await expect.poll(async () => (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).statusCode).toBe(200);
    const { size, headHash } = (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).json();
    for (const url of [`/v1/audit/receipts/${size}?hash=${headHash}`, `/v1/audit/receipts/${size}?key=${headHash}`, `/v1/audit/receipts/${size}`]) {
      const walked = await kv.app.inject({ method: 'GET', url });
      expect(walked.statusCode).toBeGreaterThanOrEqual(400);
      expect(walked.body).not.toContain('acme/web');
      expect(walked.body).not.toContain(ns);
    }

    const own = await kv.app.inject({ method: 'GET', url: issued.json().audit.receipt });
    expect(own.statusCode).toBe(200);
    expect(own.json().record).toMatchObject({ id: issued.json().audit.recordId, namespace: ns });
    expect(issued.headers['kubevend-audit-records']).toBe(issued.json().audit.receipt);
  });
});

// Receipts in bulk: the work is bounded, and what is past the bound is refused at once, not queued.
describe('many receipts at once', () => {
  const t = freshStore(engines.find((e) => e.name === 'postgres')!);

  it('when more receipts are asked for at once than are worked on, then the rest are refused with 503 and Retry-After, and the others are answered', async () => {
    const scratch = await scratchDir();
    const ci = await createTestIssuer(scratch.dir);
    const policy = {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [],
    };
    const kv = await startKubevend(scratch.dir, policy, {
      store: t.store, audit: { checkpoints: { key: newSigningKey(), origin: 'bulk', everyRecords: 1, intervalMs: 3_600_000 } },
    });
    // A lock on the checkpoints holds every receipt that got past its key check, as a slow database would.
    const holder = new pg.Client({ connectionString: t.database.url });
    try {
      const records = [];
      for (let i = 0; i < 5; i++) records.push(await t.store.audit.append(grantedRecord()));
      await expect.poll(async () => (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).json().size).toBe(5);
      const secret = createSecretKey(kv.fingerprintKey);
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table audit_checkpoints in access exclusive mode');
      const answers = records.map((r) => kv.app.inject({ method: 'GET', url: `/v1/audit/receipts/${r.id}?key=${receiptKey(secret, r)}` }));
      const refused = await Promise.race(answers);
      expect([refused.statusCode, refused.json().code, refused.headers['retry-after']]).toEqual([503, 'overloaded', '1']);
      await holder.query('rollback');
      expect((await Promise.all(answers)).map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 200, 503]);
    } finally {
      await holder.end().catch(() => undefined);
      await kv.close();
      await scratch.cleanup();
    }
  });
});
