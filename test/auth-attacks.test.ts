import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { startOidcIssuer, type OidcIssuer } from './helpers/oidc-issuer.ts';

const b64 = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('caller authentication under attack', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let es: TestIssuer;
  let oidc: OidcIssuer;
  let hmacSecret: Buffer;
  let kv: Kubevend;
  let ns: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    es = await createTestIssuer(scratch.dir, { alg: 'ES256', issuer: ci.issuer });
    oidc = await startOidcIssuer(scratch.dir);
    hmacSecret = randomBytes(48);
    await writeFile(join(scratch.dir, 'jenkins.secret'), hmacSecret.toString('hex'));
    ns = await createNamespace('attacks');
    await createViewerServiceAccount(ns, 'deployer');
    const grants = [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }];
    kv = await startKubevend(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile, algorithms: ['RS256'], maxTokenAge: '10m' },
        { name: 'oidc', issuer: oidc.issuer, discovery: true, caFile: oidc.caFile, audiences: ['kubevend'] },
        { name: 'jenkins', issuer: 'https://jenkins.example.test', audiences: ['kubevend'], hmacSecretFile: join(scratch.dir, 'jenkins.secret') },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'ci-web', issuer: 'ci', match: { repository: 'acme/web' }, grants },
        { name: 'ci-ghost', issuer: 'ci', match: { repository: 'acme/ghost' }, grants: [{ ...grants[0], serviceAccount: 'nobody' }] },
        { name: 'ci-limited', issuer: 'ci', match: { repository: 'acme/limited' }, rateLimit: { requests: 2, per: '1m' }, grants },
        { name: 'oidc-web', issuer: 'oidc', match: { repository: 'acme/web' }, grants },
        { name: 'jenkins-web', issuer: 'jenkins', match: { job: 'web-deploy' }, grants },
      ],
    });
  });

  afterAll(async () => {
    await kv?.close();
    await oidc?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const post = (token: string) =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: {} });
  const valid = (claims = {}) => ci.mint(githubClaims('acme/web', claims));
  const hmacToken = (claims = {}) =>
    new SignJWT({ iss: 'https://jenkins.example.test', aud: 'kubevend', job: 'web-deploy', jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(Buffer.from(hmacSecret.toString('hex')));

  const attacks: [string, () => Promise<string>, string][] = [
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...githubClaims('acme/web'), iss: ci.issuer, aud: 'kubevend', exp: now() + 300, jti: randomUUID() })}.`, 'algorithm_not_allowed'],
    ['HS256 signed with the issuer\'s RSA public key', async () =>
      new SignJWT({ ...githubClaims('acme/web'), iss: ci.issuer, aud: 'kubevend', jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m')
        .sign(await readFile(ci.publicKeyFile)), 'algorithm_not_allowed'],
    ['ES256 where only RS256 is allowed', () => es.mint(githubClaims('acme/web')), 'algorithm_not_allowed'],
    ['an expired token', () => valid({ iat: now() - 600, exp: now() - 120 }), 'token_expired'],
    ['nbf in the future', () => valid({ nbf: now() + 300 }), 'token_not_yet_valid'],
    ['iat in the future', () => valid({ iat: now() + 300 }), 'claim_invalid'],
    ['a token older than the issuer\'s maximum age', () => valid({ iat: now() - 3600, exp: now() + 300 }), 'token_too_old'],
    ['a wrong issuer', () => valid({ iss: 'https://token.actions.githubusercontent.com' }), 'issuer_unknown'],
    ['a wrong audience', () => valid({ aud: 'sts.amazonaws.com' }), 'audience_mismatch'],
    ['no audience', () => valid({ aud: undefined }), 'audience_mismatch'],
    ['no jti where replay protection is on', () => valid({ jti: undefined }), 'claim_invalid'],
    ['an unknown kid', () => oidc.mint(githubClaims('acme/web'), { unpublished: true }), 'key_unknown'],
    ['a tampered payload', async () => {
      const [h, , s] = (await valid()).split('.');
      return `${h}.${b64({ ...githubClaims('acme/admin'), iss: ci.issuer, aud: 'kubevend', exp: now() + 300, jti: randomUUID() })}.${s}`;
    }, 'signature_invalid'],
    ['a tampered signature', async () => {
      const [h, p, s] = (await valid()).split('.');
      const sig = Buffer.from(s!, 'base64url');
      sig[0]! ^= 0xff;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }, 'signature_invalid'],
    ['an RS256 token against an HMAC issuer', async () =>
      new SignJWT({ iss: 'https://jenkins.example.test', aud: 'kubevend', job: 'web-deploy', jti: randomUUID() })
        .setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('5m').sign(ci.privateKey), 'algorithm_not_allowed'],
    ['an HMAC token with the wrong secret', async () =>
      new SignJWT({ iss: 'https://jenkins.example.test', aud: 'kubevend', job: 'web-deploy', jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(randomBytes(48)), 'signature_invalid'],
    ['a token over 16 KiB', () => valid({ padding: 'x'.repeat(17 * 1024) }), 'token_too_large'],
    ['garbage', async () => 'this-is-not.a-jwt.at-all', 'token_malformed'],
    ['a header that is not JSON', async () => `${b64('not json')}.${b64({ iss: ci.issuer })}.sig`, 'token_malformed'],
  ];

  it.each(attacks)('when the token has %s, then it is refused with 401 and its own code', async (_, make, code) => {
    const token = await make();
    const res = await post(token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe(code);
    expect(res.body).not.toContain(token);
  });

  it('when a jti is replayed, then the second use is refused', async () => {
    const token = await valid();
    expect((await post(token)).statusCode).toBe(201);
    const again = await post(token);
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('token_replayed');
  });

  it('when one token is sent twice at once, then one request gets a credential and the other is refused as a replay', async () => {
    const count = async (state: 'active' | 'pending') =>
      (await kv.store.issuances.list({ pipeline: 'ci-web', state }, { limit: 500 })).items.length;
    const active = await count('active');
    const token = await valid();
    const answers = await Promise.all([post(token), post(token)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 401]);
    expect(answers.find((a) => a.statusCode === 401)!.json().code).toBe('token_replayed');
    // One credential; the refused request's write-ahead record is closed, not left for the reaper.
    expect(await count('active')).toBe(active + 1);
    expect(await count('pending')).toBe(0);
  });

  it('when a spent token is replayed, then the replays cost its pipeline none of its rate limit', async () => {
    const limited = () => ci.mint(githubClaims('acme/limited'));
    const token = await limited();
    expect((await post(token)).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) expect((await post(token)).json().code).toBe('token_replayed');
    expect((await post(await limited())).statusCode).toBe(201);
    expect((await post(await limited())).json().code).toBe('rate_limited');
  });

  it('when a request issued nothing, then the CI job may retry with the same token', async () => {
    const token = await ci.mint(githubClaims('acme/ghost'));
    expect((await post(token)).json().code).toBe('kube_object_not_found');
    expect((await post(token)).json().code).toBe('kube_object_not_found');
  });

  it('when a token expired within the issuer\'s leeway, then it is still accepted', async () => {
    expect((await post(await valid({ iat: now() - 300, exp: now() - 10 }))).statusCode).toBe(201);
  });

  it('when a Jenkins job signs with the shared HMAC secret, then it is accepted', async () => {
    expect((await post(await hmacToken())).statusCode).toBe(201);
  });

  it('when a valid token comes from the OIDC issuer, then it is accepted', async () => {
    expect((await post(await oidc.mint(githubClaims('acme/web')))).statusCode).toBe(201);
  });
});
