import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { githubClaims } from './helpers/ci-issuer.ts';
import { createViewerServiceAccount, deleteNamespaces, kubectl, kubectlOk } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { gitlabClaims, startOidcIssuer, type OidcIssuer } from './helpers/oidc-issuer.ts';

describe('OIDC issuers by discovery', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let github: OidcIssuer;
  let gitlab: OidcIssuer;
  let kv: Kubevend;
  const suffix = Math.random().toString(16).slice(2, 8);
  const webNs = `ci-web-${suffix}`;
  const gitlabNs = `gl-shop-${suffix}`;

  beforeAll(async () => {
    scratch = await scratchDir();
    github = await startOidcIssuer(scratch.dir);
    gitlab = await startOidcIssuer(scratch.dir, { audience: 'https://kubevend.example.test' });
    for (const ns of [webNs, gitlabNs]) {
      await kubectlOk(['create', 'namespace', ns]);
      await createViewerServiceAccount(ns, 'deployer');
    }
    kv = await startKubevend(scratch.dir, {
      issuers: [
        { name: 'github', preset: 'github-actions', issuer: github.issuer, caFile: github.caFile, audiences: ['kubevend'], jwksRefetchInterval: 1 },
        { name: 'gitlab', preset: 'gitlab', issuer: gitlab.issuer, caFile: gitlab.caFile, audiences: ['https://kubevend.example.test'] },
        // Discovery at an address where nothing listens: the connection is refused.
        { name: 'offline', issuer: 'https://127.0.0.1:1', discovery: true, audiences: ['kubevend'] },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        {
          name: 'github-web', issuer: 'github',
          match: { repository: 'acme/*', ref: 'refs/heads/main' },
          grants: [{ cluster: 'local', namespace: `ci-{{repository_name}}-${suffix}`, serviceAccount: 'deployer' }],
        },
        {
          name: 'gitlab-shop', issuer: 'gitlab',
          match: { project_path: 'acme/shop' },
          conditions: { ref_protected: true, environment: 'production' },
          grants: [{ cluster: 'local', namespace: gitlabNs, serviceAccount: 'deployer' }],
        },
        { name: 'offline', issuer: 'offline', match: { repository: 'x' }, grants: [{ cluster: 'local', namespace: gitlabNs, serviceAccount: 'deployer' }] },
      ],
    });
  });

  afterAll(async () => {
    await kv?.close();
    await github?.close();
    await gitlab?.close();
    await deleteNamespaces(webNs, gitlabNs);
    await scratch?.cleanup();
  });

  const post = (token: string, body: object = {}) =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: body });

  async function kubeconfigFile(text: string): Promise<string> {
    const file = join(scratch.dir, `${Math.random().toString(16).slice(2)}.kubeconfig`);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  it('when a GitHub Actions token arrives, then the templated namespace is granted and kubectl works there', async () => {
    const res = await post(await github.mint(githubClaims('acme/web')));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().namespace).toBe(webNs);
    const kubeconfig = await kubeconfigFile(res.json().kubeconfig);
    expect((await kubectl(['get', 'pods'], { kubeconfig })).code).toBe(0);
    expect(await kubectlOk(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig }))
      .toBe(`system:serviceaccount:${webNs}:deployer`);
  });

  it('when a GitLab CI token on a protected production ref arrives, then it gets its namespace', async () => {
    const res = await post(await gitlab.mint(gitlabClaims('acme/shop')));
    expect(res.statusCode).toBe(201);
    const kubeconfig = await kubeconfigFile(res.json().kubeconfig);
    expect((await kubectl(['get', 'pods'], { kubeconfig })).code).toBe(0);
  });

  it('when the GitLab ref is not protected, then the conditions deny it', async () => {
    const res = await post(await gitlab.mint(gitlabClaims('acme/shop', { ref_protected: 'false' })));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('conditions_not_met');
    expect(res.json().detail).toContain('ref_protected');
  });

  it('when the issuer rotates its key, then tokens of the new key are accepted without a restart', async () => {
    expect((await post(await github.mint(githubClaims('acme/web')))).statusCode).toBe(201);
    const before = github.jwksFetches();
    await github.rotate();
    await new Promise((r) => setTimeout(r, 1100)); // the refetch interval of this issuer
    const res = await post(await github.mint(githubClaims('acme/web')));
    expect(res.statusCode).toBe(201);
    expect(github.jwksFetches()).toBe(before + 1);
  });

  it('when tokens with unknown key ids flood in, then each is refused and the JWKS is fetched at most once more', async () => {
    const before = github.jwksFetches();
    for (let i = 0; i < 10; i++) {
      const res = await post(await github.mint(githubClaims('acme/web'), { unpublished: true }));
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('key_unknown');
    }
    expect(github.jwksFetches() - before).toBeLessThanOrEqual(1);
  });

  it('when the issuer cannot be reached, then the caller gets 503 issuer_unavailable', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: 'https://127.0.0.1:1', aud: 'kubevend', exp: now + 60, iat: now, jti: 'j' })).toString('base64url');
    const res = await post(`${header}.${payload}.${Buffer.from('sig').toString('base64url')}`);
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('issuer_unavailable');
  });
});
