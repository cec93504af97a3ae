import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { publicKeyPem } from '../src/ledger/signing-key.ts';
import { recordHash } from '../src/store/audit-chain.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { startServer } from './helpers/server-process.ts';
import { newSigningKey } from './helpers/signing-key.ts';

const run = promisify(execFile);
const verifyCli = join(import.meta.dirname, '..', 'src', 'cli', 'verify-audit.ts');

/** `npm run audit:verify -- args` against the app's database: its exit code and what it printed. */
async function auditVerify(dbFile: string | undefined, ...args: string[]): Promise<{ code: number; out: string }> {
  const env = { ...process.env, ...(dbFile ? { KUBEVEND_DATABASE_URL: `sqlite://${dbFile}` } : {}) };
  try {
    const { stdout, stderr } = await run(process.execPath, [verifyCli, ...args], { env });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

// What a checkpoint proves to whoever saved it, through the API and the command an auditor runs.
describe('signed audit checkpoints and receipts', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let ns: string;
  let auditor: string;
  let keysFile: string;
  const key = newSigningKey();
  const formerKey = newSigningKey();
  const policy = () => ({
    issuers: [
      { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
      { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
    ],
    clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
    pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
    operators: [{ name: 'auditors', issuer: 'sso', match: { groups: 'audit' }, role: 'auditor' }],
  });

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    ns = await createNamespace('proofs');
    await createViewerServiceAccount(ns, 'deployer');
    kv = await startKubevend(scratch.dir, policy(), {
      audit: {
        checkpoints: { key, origin: 'proofs', everyRecords: 2, intervalMs: 3_600_000 },
        formerAuditKeys: new Map([[formerKey.keyId, formerKey.publicKey]]),
      },
    });
    auditor = await sso.mint({ sub: 'grace', groups: ['audit'] });
    keysFile = join(scratch.dir, 'audit-keys.pem');
    await writeFile(keysFile, publicKeyPem(key.publicKey) + publicKeyPem(formerKey.publicKey));
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async () => {
    const res = await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(res.statusCode).toBe(201);
    return res.json();
  };
  const latest = async () => (await kv.app.inject({ method: 'GET', url: '/v1/audit/checkpoint' })).json();
  const verifyOverApi = async (checkpoint: unknown) =>
    (await kv.app.inject({ method: 'POST', url: '/v1/audit/checkpoint/verify', payload: checkpoint as object, headers: { authorization: `Bearer ${auditor}` } })).json();

  it('when credentials are issued, then a signed checkpoint is published, and the ledger verifies against it by API and by command', async () => {
    await vend();
    await vend();
    await expect.poll(async () => (await latest()).size).toBe(2);
    const checkpoint = await latest();
    expect(checkpoint).toMatchObject({ origin: 'proofs', fromSize: 0, keyId: key.keyId });
    const keys = (await kv.app.inject({ method: 'GET', url: '/v1/audit/keys' })).json().keys;
    expect(keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual([key.keyId, formerKey.keyId].sort());
    expect(kv.logs.some((line) => line.includes('audit checkpoint signed') && line.includes(checkpoint.signature))).toBe(true);

    expect(await verifyOverApi(checkpoint)).toEqual({ ok: true, count: 2 });
    const saved = join(scratch.dir, 'checkpoint.json');
    await writeFile(saved, JSON.stringify(checkpoint));
    expect(await auditVerify(kv.dbFile, '--checkpoint', saved, '--keys', keysFile)).toMatchObject({ code: 0, out: expect.stringContaining('extends the checkpoint at 2 records') });
  });

  it('when a job keeps its answer, then its receipt is there at once and verifies offline; an edited one does not', async () => {
    const first = await vend();
    const { recordId, recordHash, receipt: path } = first.audit;
    expect(first.issuances[0].audit).toEqual(first.audit);
    // Asked for at once: a checkpoint is signed for it rather than after the next 2 records.
    const res = await kv.app.inject({ method: 'GET', url: path });
    expect(res.statusCode).toBe(200);
    const receipt = res.json();
    expect(receipt.record).toMatchObject({ id: recordId, hash: recordHash, issuanceId: first.issuanceId });
    expect(receipt.checkpoint).toMatchObject({ fromSize: 2, size: 3 });
    const file = join(scratch.dir, 'receipt.json');
    await writeFile(file, JSON.stringify(receipt));
    expect(await auditVerify(undefined, '--receipt', file, '--keys', keysFile)).toMatchObject({ code: 0, out: expect.stringContaining(`record ${recordId} is in the ledger as signed at checkpoint 3`) });

    await writeFile(file, JSON.stringify({ ...receipt, record: { ...receipt.record, namespace: 'kube-system' } }));
    expect(await auditVerify(undefined, '--receipt', file, '--keys', keysFile)).toMatchObject({ code: 1, out: expect.stringContaining('(record_changed)') });
    await writeFile(file, JSON.stringify({ ...receipt, proof: [...receipt.proof, 'f'.repeat(64)] }));
    expect(await auditVerify(undefined, '--receipt', file, '--keys', keysFile)).toMatchObject({ code: 1, out: expect.stringContaining('(proof_invalid)') });
    const otherKeys = join(scratch.dir, 'other-keys.pem');
    await writeFile(otherKeys, publicKeyPem(newSigningKey().publicKey));
    expect(await auditVerify(undefined, '--receipt', join(scratch.dir, 'receipt.json'), '--keys', otherKeys)).toMatchObject({ code: 1, out: expect.stringContaining('(unknown_key)') });
    const wrongKey = await kv.app.inject({ method: 'GET', url: `/v1/audit/receipts/${recordId}?key=${'A'.repeat(43)}` });
    expect([wrongKey.statusCode, wrongKey.json().code]).toEqual([404, 'receipt_not_found']);
  });

  it('when someone with the database rewrites a record and recomputes the chain, then the saved checkpoint catches it', async () => {
    const checkpoint = await latest();
    await vend();
    const db = new DatabaseSync(kv.dbFile, { timeout: 5_000 });
    try {
      // Every record from the first on: a different namespace, every hash recomputed, the head moved.
      const rows = db.prepare('select id from audit_records order by id').all() as { id: number }[];
      let prevHash = '0'.repeat(64);
      for (const { id } of rows) {
        db.prepare(`update audit_records set namespace = 'kube-system', prev_hash = ? where id = ?`).run(prevHash, id);
        const record = (await kv.store.audit.get(id))!;
        prevHash = recordHash(prevHash, record);
        db.prepare('update audit_records set hash = ? where id = ?').run(prevHash, id);
      }
      db.prepare('update audit_chain set head_hash = ? where id = 1').run(prevHash);
    } finally {
      db.close();
    }
    expect((await kv.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${auditor}` } })).json()).toMatchObject({ ok: true });
    expect(await verifyOverApi(checkpoint)).toMatchObject({ ok: false, recordId: checkpoint.size, problem: 'checkpoint_differs' });
    const saved = join(scratch.dir, 'checkpoint.json');
    await writeFile(saved, JSON.stringify(checkpoint));
    const cli = await auditVerify(kv.dbFile, '--checkpoint', saved, '--keys', keysFile);
    expect(cli).toMatchObject({ code: 1, out: expect.stringContaining(`BROKEN at record ${checkpoint.size} (checkpoint_differs)`) });
    expect(await verifyOverApi({ ...checkpoint, size: checkpoint.size + 1 })).toMatchObject({ ok: false, problem: 'signature_invalid' });
  });

  it('when a CI job (no operator role) asks to verify, then it is refused; the checkpoint and keys are public', async () => {
    const res = await kv.app.inject({ method: 'POST', url: '/v1/audit/checkpoint/verify', payload: await latest(), headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(res.json().code).toBe('operator_required');
  });

  it.each([
    ['a file that is not there', async () => join(scratch.dir, 'missing.pem'), 'cannot read the signing key (ENOENT)'],
    ['an RSA key', async () => {
      const file = join(scratch.dir, 'rsa.pem');
      await writeFile(file, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      return file;
    }, 'the signing key is rsa, not Ed25519'],
    ['a public key', async () => {
      const file = join(scratch.dir, 'public.pem');
      await writeFile(file, publicKeyPem(key.publicKey));
      return file;
    }, 'not a private key in PEM'],
  ])('when the signing key is %s, then kubevend does not start and says why, without the key', async (_name, make, why) => {
    const policyFile = join(scratch.dir, 'server-policy.yaml');
    await writeFile(policyFile, stringify(policy()));
    const keyFile = await make();
    const server = startServer({ KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_AUDIT_SIGNING_KEY_FILE: keyFile });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toContain(`KUBEVEND_AUDIT_SIGNING_KEY_FILE: ${keyFile}: ${why}`);
    expect(server.stderr() + server.stdout()).not.toContain('PRIVATE KEY');
    expect(server.stderr() + server.stdout()).not.toContain('PUBLIC KEY');
  });
});
