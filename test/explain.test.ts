import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

describe('POST /v1/explain and how the policy decides', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let kv: Kubevend;
  let prod: string;
  let staging: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    prod = await createNamespace('explain-prod');
    staging = await createNamespace('explain-staging');
    await createViewerServiceAccount(prod, 'deployer');
    await createViewerServiceAccount(staging, 'deployer');
    kv = await startKubevend(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'corp-sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        {
          name: 'web-prod', issuer: 'ci',
          match: { repository: ['acme/web', 'acme/web-legacy'] },
          conditions: { ref: 'refs/heads/main', environment: 'production' },
          grants: [{ cluster: 'local', namespace: prod, serviceAccount: 'deployer', ttl: { default: '20m', max: '1h' } }],
        },
        {
          name: 'acme-staging', issuer: 'ci',
          match: { repository: 'acme/*' },
          grants: [{ cluster: 'local', namespace: [staging, `${staging}-{{repository_name}}`], serviceAccount: 'deployer' }],
        },
      ],
      operators: [
        { name: 'platform', issuer: 'corp-sso', match: { groups: 'platform-team' }, role: 'auditor' },
      ],
    });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(prod, staging);
    await scratch?.cleanup();
  });

  const explain = async (token: string, body: object = {}) =>
    kv.app.inject({ method: 'POST', url: '/v1/explain', headers: { authorization: `Bearer ${token}` }, payload: body });

  it('when a production job explains its own token, then it sees the grant it would get', async () => {
    const res = await explain(await ci.mint(githubClaims('acme/web', { environment: 'production' })));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      decision: 'granted',
      identity: { issuer: 'ci', subject: 'repo:acme/web:ref:refs/heads/main' },
      grant: { pipeline: 'web-prod', namespace: prod, access: { mode: 'existing', serviceAccount: 'deployer' }, ttlSeconds: 1200 },
    });
  });

  it('when a job explains its token, then the token is not spent and still vends a credential', async () => {
    const token = await ci.mint(githubClaims('acme/web', { environment: 'production' }));
    expect((await explain(token)).statusCode).toBe(200);
    const res = await kv.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: {} });
    expect(res.statusCode).toBe(201);
    expect(res.json().namespace).toBe(prod);
  });

  it('when the production conditions fail, then the next pipeline that matches decides', async () => {
    const res = await explain(await ci.mint(githubClaims('acme/web', { environment: 'staging' })));
    const body = res.json();
    expect(body.grant).toMatchObject({ pipeline: 'acme-staging', namespace: staging });
    expect(body.pipelines[0]).toMatchObject({
      pipeline: 'web-prod', stage: 'conditions',
      mismatches: [{ claim: 'environment', expected: ['production'], actual: 'staging' }],
    });
  });

  it('when a glob would have to cross "/", then the pipeline does not match and explain says which claim failed to an operator', async () => {
    const operator = await sso.mint({ sub: 'jane', groups: ['platform-team'] });
    const res = await explain(operator, { identity: { issuer: 'ci', claims: githubClaims('acme/web/../../evil') } });
    const body = res.json();
    expect(body.decision).toBe('denied');
    expect(body.denial.code).toBe('pipeline_not_matched');
    expect(body.pipelines.map((p: { stage: string }) => p.stage)).toEqual(['match', 'match']);
    expect(body.pipelines[1].mismatches[0]).toMatchObject({ claim: 'repository', expected: ['acme/*'] });
  });

  it('when a job explains a token no pipeline fits, then it learns no pipeline\'s name nor the claims they expect', async () => {
    const res = await explain(await ci.mint(githubClaims('evil/web')));
    const body = res.json();
    expect(body).toMatchObject({ decision: 'denied', denial: { code: 'pipeline_not_matched' }, pipelines: [] });
    expect(res.body).not.toMatch(/acme|web-prod|acme-staging|production/);
  });

  it('when a job explains its own token, then it sees only the pipelines it fits, not the others', async () => {
    const body = (await explain(await ci.mint(githubClaims('acme/api')))).json();
    expect(body.pipelines.map((p: { pipeline: string }) => p.pipeline)).toEqual(['acme-staging']);
    expect(JSON.stringify(body)).not.toMatch(/web-prod|acme\/web-legacy/);
  });

  it('when a namespace is asked that only a templated entry grants, then the rendered name is granted', async () => {
    const res = await explain(await ci.mint(githubClaims('acme/api')), { namespace: `${staging}-api` });
    expect(res.json().grant).toMatchObject({ pipeline: 'acme-staging', namespace: `${staging}-api` });
  });

  it('when a claim would render an invalid name, then the grant is refused with the reason', async () => {
    const res = await explain(await ci.mint(githubClaims('acme/API_v2')));
    const body = res.json();
    expect(body.denial.code).toBe('grant_not_allowed');
    expect(body.pipelines[0]).toMatchObject({ pipeline: 'acme-staging' });
    expect(body.pipelines[0].grants[0].reason).toMatch(/not an RFC 1123 label/);
  });

  it('when a caller passes another identity without an operator role, then it is refused', async () => {
    const res = await explain(await ci.mint(githubClaims('acme/web')), { identity: { issuer: 'ci', claims: { repository: 'acme/web' } } });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('operator_required');
  });

  it('when an operator explains another identity\'s claims, then the decision for those claims is returned', async () => {
    const operator = await sso.mint({ sub: 'jane', groups: ['developers', 'platform-team'] });
    const res = await explain(operator, {
      identity: { issuer: 'ci', claims: { repository: 'acme/web', ref: 'refs/heads/main', environment: 'production' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ decision: 'granted', identity: { issuer: 'ci' }, grant: { pipeline: 'web-prod' } });
  });

  it('when the token is bad, then explain refuses it like issuance does', async () => {
    const res = await explain('garbage');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('token_malformed');
  });
});
