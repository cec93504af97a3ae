import { execFile } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

const verifyCommand = join(import.meta.dirname, '..', 'src', 'cli', 'verify-audit.ts');

function verifyAudit(dbFile: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [verifyCommand], { env: { ...process.env, KUBEVEND_DATABASE_URL: `sqlite://${dbFile}` } },
      (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

describe('ledger retention and the verification command', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let kv: Kubevend;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{
        name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, conditions: { ref: 'refs/heads/never' },
        grants: [{ cluster: 'local', namespace: 'ci', serviceAccount: 'deployer' }],
      }],
    }, { auditRetentionMs: 3600_000 });
    // Refusals of a pipeline's own jobs are records too: a handful, without touching the cluster.
    for (let i = 0; i < 5; i++) {
      await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    }
  });

  afterAll(async () => {
    await kv?.close();
    await scratch?.cleanup();
  });

  it('when the command verifies an intact ledger, then it says so and exits 0', async () => {
    const result = await verifyAudit(kv.dbFile);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/intact: 5 records verified/);
  });

  it('when records outlive the retention, then the reaper prunes them and the chain still verifies', async () => {
    const report = await kv.reaper.runOnce(new Date(Date.now() + 2 * 3600_000));
    expect(report.auditPruned).toBe(5);
    await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(await kv.store.audit.verify()).toEqual({ ok: true, count: 1 });
    expect((await verifyAudit(kv.dbFile)).code).toBe(0);
  });

  it('when a record is altered, then the command names it and exits 1', async () => {
    const db = new DatabaseSync(kv.dbFile);
    const { id } = db.prepare('select max(id) as id from audit_records').get() as { id: number };
    db.prepare('update audit_records set reason = ? where id = ?').run('nothing to see here', id);
    db.close();
    const result = await verifyAudit(kv.dbFile);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`BROKEN at record ${id}`);
  });
});
