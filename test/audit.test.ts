import { createHmac } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { tokenOf } from './helpers/vended.ts';
import { auditRecordSchema } from '../src/routes/audit/schema.ts';

// The ledger answers "who holds what, since when, granted by which rule, and was it revoked?".
describe('GET /v1/audit and the ledger', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let ns: string;
  let auditor: string;
  const vended: string[] = [];
  const ciTokens: string[] = [];

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    ns = await createNamespace('audit');
    await createViewerServiceAccount(ns, 'deployer');
    kv = await startKubevend(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer', audiences: ['https://kubernetes.default.svc.cluster.local', 'vault'] }] },
        { name: 'ghost', issuer: 'ci', match: { repository: 'acme/ghost' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'nobody' }] },
      ],
      operators: [{ name: 'auditors', issuer: 'sso', match: { groups: 'audit' }, role: 'auditor' }],
    }, { refusalWindowMs: 300 });
    auditor = await sso.mint({ sub: 'grace', groups: ['audit'] });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async (repository: string, claims: Record<string, unknown> = {}, body: object = {}) => {
    const token = await ci.mint(githubClaims(repository, claims));
    ciTokens.push(token);
    const res = await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: body, headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode === 201) vended.push(tokenOf(res.json().kubeconfig));
    return res;
  };
  const audit = (query = '', headers: Record<string, string> = {}, token = auditor) =>
    kv.app.inject({ method: 'GET', url: `/v1/audit${query}`, headers: { authorization: `Bearer ${token}`, ...headers } });

  it('when a credential is granted, then the ledger holds who, what, by which rule, and a fingerprint, never the token', async () => {
    const res = await vend('acme/web', { run_id: '777', environment: 'staging' }, { ttlSeconds: 1200, audiences: ['vault'] });
    expect(res.statusCode).toBe(201);
    const { issuanceId } = res.json();
    const [record] = (await audit(`?issuanceId=${issuanceId}`)).json().items;
    const issuance = await kv.store.issuances.get(issuanceId);
    expect(record).toMatchObject({
      kind: 'issuance', outcome: 'granted', issuer: 'ci', pipeline: 'web', grant: 'web[0]', cluster: 'local', namespace: ns,
      serviceAccount: 'deployer', requestedTtlSeconds: 1200, audiences: ['vault'], tokenKind: 'short-lived', issuanceId,
      kubeTokenJti: issuance!.kubeTokenJti, clientAddress: '127.0.0.1',
      claims: { repository: 'acme/web', ref: 'refs/heads/main', sha: 'a'.repeat(40), runId: '777', environment: 'staging', actor: 'octocat', workflow: 'deploy' },
    });
    expect(record.actualTtlSeconds).toBeGreaterThan(1190);
    expect(record.objects).toEqual([{ kind: 'Secret', name: `kv-web-${issuanceId}`, namespace: ns }]);
    expect(record.requestId).toBe(res.headers['x-request-id']);
    const token = tokenOf(res.json().kubeconfig);
    expect(record.tokenFingerprint).toBe(`hmac-sha256:${createHmac('sha256', kv.fingerprintKey).update(token).digest('base64url')}`);
  });

  it('when requests fail, then each leaves a record with the reason code; refusals no pipeline answers for are counted per address', async () => {
    await vend('acme/nobody');
    await vend('acme/ghost');
    await kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: 'Bearer not-a-jwt' } });
    const [failed] = (await audit('?outcome=failed&pipeline=ghost')).json().items;
    expect(failed).toMatchObject({ reasonCode: 'kube_object_not_found', pipeline: 'ghost', claims: { repository: 'acme/ghost' } });
    await expect.poll(async () => (await audit('?kind=refusals')).json().items, { timeout: 5000 }).toEqual([
      expect.objectContaining({ outcome: 'denied', clientAddress: '127.0.0.1', reason: expect.stringMatching(/^2 refused from .*: (pipeline_not_matched 1, token_malformed 1|token_malformed 1, pipeline_not_matched 1)$/) }),
    ]);
    expect((await audit('?outcome=denied&kind=issuance')).json().items).toEqual([]);
  });

  it('when an issuance is revoked, then the revocation is in the ledger with who did it', async () => {
    const { issuanceId } = (await vend('acme/web')).json();
    const admin = await kv.app.inject({ method: 'DELETE', url: `/v1/issuances/${issuanceId}`, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
    expect(admin.statusCode).toBe(200);
    const kinds = (await audit(`?issuanceId=${issuanceId}`)).json().items.map((r: { kind: string; outcome: string }) => `${r.kind}:${r.outcome}`);
    expect(kinds).toEqual(['revocation:granted', 'issuance:granted']);
  });

  it('when paging with a small limit, then every record comes once, newest first, and the filters hold', async () => {
    for (let i = 0; i < 3; i++) await vend('acme/web');
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: number; pipeline: string }[]; nextCursor: string | null } = (await audit(`?pipeline=web&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const r of page.items) expect(r.pipeline).toBe('web');
      seen.push(...page.items.map((r: { id: number }) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await audit('?pipeline=web&limit=500')).json().items;
    expect(seen.length).toBe(all.length);
  });

  it('when the ledger is asked as NDJSON, then the whole filtered ledger streams one record a line', async () => {
    const res = await audit('?pipeline=web', { accept: 'application/x-ndjson' });
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe((await audit('?pipeline=web&limit=500')).json().items.length);
    expect(lines.every((r) => r.pipeline === 'web')).toBe(true);
  });

  it('when records are served, then a page and the stream both hold exactly the documented fields of each', async () => {
    const strict = auditRecordSchema.extend({ claims: auditRecordSchema.shape.claims.strict() }).strict();
    const page = (await audit('?limit=500')).json().items as object[];
    const stream = (await audit('', { accept: 'application/x-ndjson' })).body.trim().split('\n').map((l) => JSON.parse(l) as object);
    expect(page.length).toBeGreaterThan(3);
    expect(stream).toEqual(page);
    for (const record of page) expect(strict.parse(record)).toEqual(record);
  });

  it('when filters or cursors are bad, then the answer is a 400 problem', async () => {
    expect((await audit('?outcome=maybe')).json()).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((await audit('?limit=5000')).json()).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((await audit('?from=yesterday')).json()).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((await audit('?cursor=not-a-cursor')).json()).toMatchObject({ status: 400, code: 'cursor_invalid' });
  });

  it('when a CI job (no operator role) asks for the ledger, then it is refused', async () => {
    const res = await audit('', {}, await ci.mint(githubClaims('acme/web')));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('operator_required');
  });

  it('when a stored record is altered, then verification names it; before, it was intact', async () => {
    expect((await kv.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${auditor}` } })).json()).toMatchObject({ ok: true });
    const [target] = (await audit('?outcome=granted&limit=1')).json().items;
    const db = new DatabaseSync(kv.dbFile);
    db.prepare('update audit_records set namespace = ? where id = ?').run('somewhere-else', target.id);
    db.close();
    const verdict = (await kv.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${auditor}` } })).json();
    expect(verdict).toMatchObject({ ok: false, recordId: target.id, problem: 'content_changed' });
  });

  it('when the whole ledger and every log line are scanned, then no issued token and no CI token is found', async () => {
    expect(vended.length).toBeGreaterThan(3);
    const ledger = (await audit('', { accept: 'application/x-ndjson' })).body;
    const logs = kv.logs.join('');
    for (const secret of [...vended, ...ciTokens]) {
      const signature = secret.split('.')[2]!;
      expect(ledger).not.toContain(signature);
      expect(logs).not.toContain(signature);
    }
  });
});
