import { writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectl, kubectlOk, unreachableKubeconfig } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { withoutCredentials } from '../src/logger.ts';

describe('POST /v1/credentials', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let kv: Kubevend;
  let granted: string;
  let other: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    granted = await createNamespace('cred-web');
    other = await createNamespace('cred-other');
    await createViewerServiceAccount(granted, 'deployer');
    await createViewerServiceAccount(other, 'deployer');
    // A real kubeconfig whose API server address has nothing listening: the connection is refused.
    const unreachable = await unreachableKubeconfig(scratch.dir);
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile, algorithms: ['RS256'] }],
      clusters: [
        { name: 'local', kubeconfig: inject('kubeconfig') },
        { name: 'down', kubeconfig: unreachable },
      ],
      pipelines: [
        {
          name: 'web-deploy',
          issuer: 'ci',
          match: { repository: 'acme/web', ref: 'refs/heads/main' },
          grants: [{ cluster: 'local', namespace: granted, serviceAccount: 'deployer', ttl: { default: '15m', max: '1h' } }],
        },
        {
          name: 'long-lived',
          issuer: 'ci',
          match: { repository: 'acme/batch' },
          grants: [{ cluster: 'local', namespace: granted, serviceAccount: 'deployer', ttl: { default: '48h', max: '48h' } }],
        },
        {
          name: 'broken-cluster',
          issuer: 'ci',
          match: { repository: 'acme/down' },
          grants: [{ cluster: 'down', namespace: granted, serviceAccount: 'deployer' }],
        },
        {
          name: 'missing-sa',
          issuer: 'ci',
          match: { repository: 'acme/ghost' },
          grants: [{ cluster: 'local', namespace: granted, serviceAccount: 'nobody' }],
        },
      ],
    });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(granted, other);
    await scratch?.cleanup();
  });

  const post = (token: string | undefined, body: unknown = {}, headers: Record<string, string> = {}) =>
    kv.app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    });

  async function saveKubeconfig(text: string): Promise<string> {
    const file = join(scratch.dir, `vended-${Math.random().toString(16).slice(2)}.kubeconfig`);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  it('when a matching CI job asks, then its kubeconfig works with kubectl in the granted namespace only', async () => {
    const res = await post(await ci.mint(githubClaims('acme/web')));
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ pipeline: 'web-deploy', cluster: 'local', namespace: granted, serviceAccount: 'deployer' });
    const lifetime = (Date.parse(body.expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(14 * 60);
    expect(lifetime).toBeLessThanOrEqual(15 * 60 + 5);

    const kubeconfig = await saveKubeconfig(body.kubeconfig);
    const config = parse(body.kubeconfig);
    expect(config['current-context']).toBe('local');
    expect(config.contexts[0].context.namespace).toBe(granted);

    expect((await kubectl(['get', 'pods'], { kubeconfig })).code).toBe(0);
    const forbidden = await kubectl(['-n', other, 'get', 'pods'], { kubeconfig });
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toMatch(/forbidden/i);
    const whoami = await kubectlOk(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(whoami).toBe(`system:serviceaccount:${granted}:deployer`);
  });

  it('when the caller accepts YAML, then the answer is the bare kubeconfig', async () => {
    const res = await post(await ci.mint(githubClaims('acme/web')), {}, { accept: 'application/yaml' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    const kubeconfig = await saveKubeconfig(res.body);
    expect((await kubectl(['get', 'pods'], { kubeconfig })).code).toBe(0);
  });

  it('when the body says format kubeconfig, then the answer is the bare kubeconfig', async () => {
    const res = await post(await ci.mint(githubClaims('acme/web')), { format: 'kubeconfig' });
    expect(res.statusCode).toBe(201);
    expect(parse(res.body).kind).toBe('Config');
  });

  it('when curl posts no body at all over HTTP, then the pipeline\'s default grant is issued', async () => {
    const address = await kv.app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}/v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { namespace: string }).namespace).toBe(granted);
  });

  it('when a TTL beyond the grant\'s maximum is asked, then it is clamped to the maximum', async () => {
    const res = await post(await ci.mint(githubClaims('acme/web')), { ttlSeconds: 86_400 });
    expect(res.statusCode).toBe(201);
    const lifetime = (Date.parse(res.json().expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(3590);
    expect(lifetime).toBeLessThanOrEqual(3605);
  });

  it('when the API server shortens the lifetime, then its warning is passed on and expiresAt is what it granted', async () => {
    // The test control plane caps tokens at 24 h (--service-account-max-token-expiration).
    const res = await post(await ci.mint(githubClaims('acme/batch')));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.warnings).toEqual([expect.stringMatching(/shortened to 86400 seconds/)]);
    const lifetime = (Date.parse(body.expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(86_390);
    expect(lifetime).toBeLessThanOrEqual(86_405);
  });

  it('when a TTL under ten minutes is asked, then it is raised to the API server\'s minimum', async () => {
    const res = await post(await ci.mint(githubClaims('acme/web')), { ttlSeconds: 60 });
    expect(res.statusCode).toBe(201);
    const lifetime = (Date.parse(res.json().expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(590);
    expect(lifetime).toBeLessThanOrEqual(605);
  });

  describe('failures answer problem+json with a stable code', () => {
    const cases: [string, () => Promise<[string | undefined, unknown]>, number, string][] = [
      ['no token', async () => [undefined, {}], 401, 'token_missing'],
      ['a token that is not a JWT', async () => ['not-a-jwt', {}], 401, 'token_malformed'],
      ['an expired token', async () => [await ci.mint(githubClaims('acme/web', { exp: Math.floor(Date.now() / 1000) - 3600 })), {}], 401, 'token_expired'],
      ['a token for another audience', async () => [await ci.mint(githubClaims('acme/web', { aud: 'someone-else' })), {}], 401, 'audience_mismatch'],
      ['a token of an unknown issuer', async () => [await ci.mint(githubClaims('acme/web', { iss: 'https://evil.example.test' })), {}], 401, 'issuer_unknown'],
      ['an identity no pipeline matches', async () => [await ci.mint(githubClaims('acme/unknown')), {}], 403, 'pipeline_not_matched'],
      ['a namespace outside the grant', async () => [await ci.mint(githubClaims('acme/web')), { namespace: other }], 403, 'grant_not_allowed'],
      ['a cluster nobody configured', async () => [await ci.mint(githubClaims('acme/web')), { cluster: 'nowhere' }], 404, 'cluster_unknown'],
      ['a body with a wrong type', async () => [await ci.mint(githubClaims('acme/web')), { ttlSeconds: 'long' }], 400, 'invalid_request'],
      ['a body with an unknown field', async () => [await ci.mint(githubClaims('acme/web')), { namespce: granted }], 400, 'invalid_request'],
      ['a ServiceAccount that does not exist', async () => [await ci.mint(githubClaims('acme/ghost')), {}], 404, 'kube_object_not_found'],
      ['an API server that cannot be reached', async () => [await ci.mint(githubClaims('acme/down')), {}], 503, 'cluster_unreachable'],
    ];

    it.each(cases)('when %s, then the caller gets the right problem', async (_, make, status, code) => {
      const [token, body] = await make();
      const res = await post(token, body);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json();
      expect(problem).toMatchObject({ status, code, type: `urn:kubevend:problem:${code}` });
      expect(problem.instance).toMatch(/^urn:kubevend:request:/);
      expect(typeof problem.detail).toBe('string');
      if (token) expect(res.body).not.toContain(token);
    });

    it('when the body is not JSON, then it is a 400 malformed_body that does not echo it', async () => {
      const res = await kv.app.inject({
        method: 'POST', url: '/v1/credentials',
        headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}`, 'content-type': 'application/json' },
        payload: '{"namespace": secret-looking-text',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('malformed_body');
      expect(res.body).not.toContain('secret-looking-text');
    });

    it('when the body is not JSON at all, then it is a 415', async () => {
      const res = await kv.app.inject({
        method: 'POST', url: '/v1/credentials',
        headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}`, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json().code).toBe('unsupported_media_type');
    });

    it('when a route does not exist, then it is a 404 problem', async () => {
      const res = await kv.app.inject({ method: 'GET', url: '/v1/nothing' });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('route_not_found');
    });
  });

  it('when credentials were issued and refused, then no token or kubeconfig appears in the logs', async () => {
    const ciToken = await ci.mint(githubClaims('acme/web'));
    const res = await post(ciToken, {});
    expect(res.statusCode).toBe(201);
    const vended = parse(res.json().kubeconfig).users[0].user.token as string;
    await post(ciToken, { ttlSeconds: 'x' });
    const logs = kv.logs.join('');
    expect(logs).toContain('credential issued');
    expect(logs).not.toContain(vended);
    expect(logs).not.toContain(ciToken);
    expect(logs).not.toContain(ciToken.split('.')[2]);
    expect(logs).not.toContain('certificate-authority-data');
  });

  it('when requests are issued, refused or answered, then each logs one line that says how it ended', async () => {
    const issued = await post(await ci.mint(githubClaims('acme/web')), {});
    const refused = await post(undefined, {});
    const probed = await kv.app.inject({ method: 'GET', url: '/healthz' });
    // This app logs at debug, where each request also logs its arrival; info is the default level.
    const linesOf = (res: { headers: Record<string, unknown> }, level = 30) =>
      kv.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.reqId === res.headers['x-request-id'] && line.level === level);
    const expected = [
      [issued, 'credential issued', 201, 'POST', '/v1/credentials'],
      [refused, 'request refused', 401, 'POST', '/v1/credentials'],
      [probed, 'request completed', 200, 'GET', '/healthz'],
    ] as const;
    for (const [res, msg, statusCode, method, url] of expected) {
      expect(res.statusCode).toBe(statusCode);
      const lines = linesOf(res);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg, statusCode, method, url, level: 30 });
      expect(lines[0]!.responseTime).toBeTypeOf('number');
    }
    expect(linesOf(issued, 20)).toMatchObject([{ msg: 'request received', method: 'POST', url: '/v1/credentials' }]);
    expect(linesOf(refused)[0]).toMatchObject({ code: 'token_missing' });
    expect(linesOf(issued)[0]).toMatchObject({ pipeline: 'web-deploy', clusters: ['local'] });
    expect(kv.logs.join('')).not.toContain('incoming request');
    // A token put in the query string by mistake is cut out of the URL the line gives.
    const ciToken = await ci.mint(githubClaims('acme/web'));
    const misplaced = await kv.app.inject({ method: 'GET', url: `/healthz?token=${ciToken}` });
    expect(linesOf(misplaced)).toMatchObject([{ msg: 'request completed', url: '/healthz?token=[redacted]' }]);
    expect(kv.logs.join('')).not.toContain(ciToken.split('.')[2]);
  });

  it('when the caller goes away before its credential is answered, then the issuance is still logged, as not answered', async () => {
    if (!kv.app.server.listening) await kv.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = kv.app.server.address() as AddressInfo;
    const ciToken = await ci.mint(githubClaims('acme/web'));
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/credentials HTTP/1.1\r\nhost: kubevend\r\nauthorization: Bearer ${ciToken}\r\n` +
      'content-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
    const lines = () => kv.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const seen = new Set(lines().map((l) => l.reqId));
    // Once the server has the request (its arrival is logged), the connection is reset under it.
    const arrival = async () => {
      for (;;) {
        const line = lines().find((l) => l.msg === 'request received' && l.url === '/v1/credentials' && !seen.has(l.reqId));
        if (line) return line.reqId;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const reqId = await arrival();
    socket.resetAndDestroy();
    let issued: Record<string, unknown> | undefined;
    while (!(issued = lines().find((l) => l.reqId === reqId && l.level === 30))) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(issued).toMatchObject({ msg: 'credential issued', statusCode: 201, answered: false, pipeline: 'web-deploy' });
    // The ledger holds the issuance the line names: an operator can find and revoke it.
    const [issuanceId] = issued.issuances as string[];
    const { items } = await kv.store.audit.list({ pipeline: 'web-deploy' });
    expect(items.find((r) => r.issuanceId === issuanceId)).toMatchObject({ outcome: 'granted' });
    // A caller that stays gets its answer logged without the mark.
    const answered = await post(await ci.mint(githubClaims('acme/web')), {});
    const line = lines().find((l) => l.reqId === answered.headers['x-request-id'] && l.level === 30);
    expect(line).toMatchObject({ msg: 'credential issued' });
    expect(line).not.toHaveProperty('answered');
  });

  it('when the cause of a failure quotes a token, then what the log keeps of it has the token cut out', async () => {
    const ciToken = await ci.mint(githubClaims('acme/web'));
    // As JSON.parse and HTTP clients word their errors.
    const quoted = [
      withoutCredentials(`Unexpected token 'x', "${ciToken}x" is not valid JSON`),
      withoutCredentials(`request with header authorization: Bearer ${ciToken.split('.')[2]} refused`),
      withoutCredentials('proxy refused Authorization: Basic dXNlcjpwYXNz'),
    ];
    expect(quoted).toEqual([
      'Unexpected token \'x\', "[redacted]" is not valid JSON',
      'request with header authorization: Bearer [redacted] refused',
      'proxy refused Authorization: Basic [redacted]',
    ]);
  });
});
