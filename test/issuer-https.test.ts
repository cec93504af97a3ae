import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { githubClaims } from './helpers/ci-issuer.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { gitlabClaims, startOidcIssuer, type OidcIssuer } from './helpers/oidc-issuer.ts';
import { loadPolicyFile } from '../src/policy/load.ts';

const now = () => Math.floor(Date.now() / 1000);

describe('issuer keys travel over https only, unless the issuer says insecure', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  beforeAll(async () => {
    scratch = await scratchDir();
  });
  afterAll(() => scratch?.cleanup());

  describe('loading the policy', () => {
    const load = async (issuer: object) => {
      const file = join(scratch.dir, `policy-${Math.random().toString(16).slice(2)}.yaml`);
      await writeFile(file, stringify({
        issuers: [{ name: 'ci', audiences: ['kubevend'], ...issuer }],
        clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      }));
      return loadPolicyFile(file);
    };

    it('when an http issuer uses discovery, then the policy is refused and the issuer URL is named', async () => {
      await expect(load({ issuer: 'http://ci.example.test', discovery: true })).rejects.toThrow(/issuers\.0\.issuer: .*https/);
    });

    it('when that issuer says insecure: true, then the policy loads', async () => {
      const policy = await load({ issuer: 'http://ci.example.test', discovery: true, insecure: true });
      expect(policy.issuers[0]).toMatchObject({ issuer: 'http://ci.example.test', insecure: true });
    });

    it('when the JWKS URL is http, then the policy is refused unless the issuer says insecure', async () => {
      const issuer = { issuer: 'https://ci.example.test', jwksUri: 'http://ci.example.test/jwks' };
      await expect(load(issuer)).rejects.toThrow(/issuers\.0\.jwksUri: .*https/);
      expect((await load({ ...issuer, insecure: true })).issuers[0]!.jwksUri).toBe('http://ci.example.test/jwks');
    });

    it('when a static-key issuer has an http issuer URL, then the policy is refused all the same', async () => {
      await writeFile(join(scratch.dir, 'ci.secret'), 'x'.repeat(48));
      await expect(load({ issuer: 'http://jenkins.example.test', hmacSecretFile: join(scratch.dir, 'ci.secret') }))
        .rejects.toThrow(/issuers\.0\.issuer: .*https/);
    });

    it('when an issuer uses a preset, then it gets the maximum token age of that CI system unless it sets its own', async () => {
      expect((await load({ preset: 'github-actions' })).issuers[0]!.maxTokenAge).toBe(10 * 60);
      expect((await load({ preset: 'gitlab', issuer: 'https://gitlab.example.test' })).issuers[0]!.maxTokenAge).toBe(65 * 60);
      expect((await load({ preset: 'gitlab', issuer: 'https://gitlab.example.test', maxTokenAge: '3h' })).issuers[0]!.maxTokenAge).toBe(3 * 3600);
    });
  });

  describe('verifying tokens', () => {
    let plain: OidcIssuer;
    let pointsAtHttp: OidcIssuer;
    let pointsAtHttpInsecure: OidcIssuer;
    let redirecting: OidcIssuer;
    let github: OidcIssuer;
    let gitlab: OidcIssuer;
    let kv: Kubevend;

    beforeAll(async () => {
      plain = await startOidcIssuer(scratch.dir, { plain: true });
      const plainJwks = `${plain.issuer}/.well-known/jwks`;
      pointsAtHttp = await startOidcIssuer(scratch.dir, { jwksUri: plainJwks });
      pointsAtHttpInsecure = await startOidcIssuer(scratch.dir, { jwksUri: plainJwks });
      redirecting = await startOidcIssuer(scratch.dir, { redirects: { '/moved-jwks': plainJwks } });
      github = await startOidcIssuer(scratch.dir);
      gitlab = await startOidcIssuer(scratch.dir);
      const entry = (name: string, fields: object) => ({ name, audiences: ['kubevend'], ...fields });
      // No such namespace: these tests stop at the token, before anything is created.
      const pipeline = (issuer: string) => ({
        name: issuer, issuer, match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: 'not-created', serviceAccount: 'deployer' }],
      });
      const issuers = [
        entry('plain', { issuer: plain.issuer, discovery: true, insecure: true }),
        entry('points-at-http', { issuer: pointsAtHttp.issuer, discovery: true, caFile: pointsAtHttp.caFile }),
        entry('points-at-http-insecure', { issuer: pointsAtHttpInsecure.issuer, discovery: true, caFile: pointsAtHttpInsecure.caFile, insecure: true }),
        entry('redirecting', { issuer: redirecting.issuer, jwksUri: `${redirecting.issuer}/moved-jwks`, caFile: redirecting.caFile }),
        entry('github', { preset: 'github-actions', issuer: github.issuer, caFile: github.caFile }),
        entry('gitlab', { preset: 'gitlab', issuer: gitlab.issuer, caFile: gitlab.caFile }),
      ];
      kv = await startKubevend(scratch.dir, {
        issuers,
        clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
        pipelines: issuers.map((i) => pipeline(i.name)),
      });
    });

    afterAll(async () => {
      await kv?.close();
      for (const issuer of [plain, pointsAtHttp, pointsAtHttpInsecure, redirecting, github, gitlab]) await issuer?.close();
    });

    // Explain verifies the token as issuing does and answers without touching the cluster.
    const decide = (token: string) =>
      kv.app.inject({ method: 'POST', url: '/v1/explain', headers: { authorization: `Bearer ${token}` }, payload: {} });
    const issue = (token: string) =>
      kv.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: {} });

    it('when an insecure issuer serves discovery and its JWKS over plain http, then its tokens are accepted', async () => {
      const res = await decide(await plain.mint(githubClaims('acme/web')));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ decision: 'granted', identity: { issuer: 'plain' } });
    });

    it('when an https discovery document points jwks_uri at http, then callers get 503 issuer_unavailable and no key is fetched', async () => {
      const before = plain.jwksFetches();
      // Signed with the key the http JWKS publishes: only the transport stands in the way.
      const res = await issue(await plain.mint({ ...githubClaims('acme/web'), iss: pointsAtHttp.issuer }));
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json().code).toBe('issuer_unavailable');
      expect(plain.jwksFetches()).toBe(before);
    });

    it('when that issuer says insecure: true, then the http jwks_uri is used and its tokens are accepted', async () => {
      const res = await decide(await plain.mint({ ...githubClaims('acme/web'), iss: pointsAtHttpInsecure.issuer }));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ decision: 'granted', identity: { issuer: 'points-at-http-insecure' } });
    });

    it('when the https JWKS URL redirects to http, then the redirect is not followed and callers get 503 issuer_unavailable', async () => {
      const before = plain.jwksFetches();
      const res = await issue(await plain.mint({ ...githubClaims('acme/web'), iss: redirecting.issuer }));
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json().code).toBe('issuer_unavailable');
      expect(plain.jwksFetches()).toBe(before);
    });

    it('when a GitHub Actions token is older than the preset allows, then it is refused with 401 token_too_old', async () => {
      expect((await decide(await github.mint(githubClaims('acme/web')))).json().decision).toBe('granted');
      const res = await issue(await github.mint(githubClaims('acme/web', { iat: now() - 11 * 60, exp: now() + 60 })));
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json().code).toBe('token_too_old');
    });

    it('when a GitLab id_token outlives the default job timeout, then it is refused with 401 token_too_old', async () => {
      const claims = (overrides: JWTPayload) => ({ ...gitlabClaims('acme/shop', overrides), repository: 'acme/web' });
      expect((await decide(await gitlab.mint(claims({ iat: now() - 50 * 60, exp: now() + 60 })))).json().decision).toBe('granted');
      const res = await issue(await gitlab.mint(claims({ iat: now() - 70 * 60, exp: now() + 60 })));
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json().code).toBe('token_too_old');
    });
  });
});
