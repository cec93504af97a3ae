import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { loadPolicyFile } from '../src/policy/load.ts';
import type { KubeGateway } from '../src/services/ports.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectl } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// What an outside attacker found on a running server, each as the attacker would try it: real
// control plane, real store, hand-made tokens.

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('attacks on replay, holders, names, the ledger and the kill switch', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let sso: TestIssuer;
  let quick: TestIssuer;
  let kv: Kubevend;
  let nsA: string;
  let nsB: string;
  let nsOwn: string;
  let web: string;
  let admin: string;
  /** Set by a test to hold the next TokenRequest until it resolves. */
  let gate: Promise<void> | undefined;
  let policy: object;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    sso = await createTestIssuer(scratch.dir);
    quick = await createTestIssuer(scratch.dir);
    [nsA, nsB, nsOwn, web] = await Promise.all(['sec-a', 'sec-b', 'sec-own', 'sec-web'].map((p) => createNamespace(p))) as [string, string, string, string];
    await Promise.all([nsA, nsB, nsOwn, web].map((ns) => createViewerServiceAccount(ns, 'deployer')));
    policy = {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile, leewaySeconds: 30 },
        { name: 'sso', issuer: sso.issuer, audiences: ['kubevend'], publicKeyFile: sso.publicKeyFile },
        // No leeway, so that a token's end can be waited for.
        { name: 'quick', issuer: quick.issuer, audiences: ['kubevend'], publicKeyFile: quick.publicKeyFile, leewaySeconds: 0 },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        {
          // Matches on a derived claim, and names the namespace after it.
          name: 'named', issuer: 'ci',
          match: { repository_owner: 'acme', repository_name: [nsA, nsB, nsOwn, 'kube-system', 'default'] },
          // Without allowedNames the policy would not load: "{{repository_name}}" could render the
          // other pipelines' namespace.
          grants: [{ cluster: 'local', namespace: '{{repository_name}}', serviceAccount: 'deployer', allowedNames: { namespace: [nsA, nsB, nsOwn, 'kube-system', 'default'] } }],
        },
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: web, serviceAccount: 'deployer' }] },
        { name: 'quick', issuer: 'quick', match: { repository: 'acme/quick' }, grants: [{ cluster: 'local', namespace: web, serviceAccount: 'deployer' }] },
        { name: 'services', issuer: 'ci', match: { repository: 'acme/svc-*' }, grants: [{ cluster: 'local', namespace: web, serviceAccount: 'deployer' }] },
        {
          name: 'strict', issuer: 'ci', match: { repository: 'acme/strict' }, conditions: { ref: 'refs/heads/never' },
          rateLimit: { requests: 5, per: '1m' }, grants: [{ cluster: 'local', namespace: web, serviceAccount: 'deployer' }],
        },
      ],
      operators: [{ name: 'admins', issuer: 'sso', match: { groups: 'platform' }, role: 'admin' }],
    };
    kv = await startKubevend(scratch.dir, policy, {
      ownNamespace: nsOwn,
      refusalWindowMs: 1000,
      wrapKube: (kube: KubeGateway): KubeGateway => ({
        ...kube,
        endpoint: (cluster) => kube.endpoint(cluster),
        createServiceAccountToken: async (request) => {
          const held = gate;
          if (held) await held;
          return kube.createServiceAccountToken(request);
        },
      }),
    });
    admin = await sso.mint({ sub: 'ops-jane', groups: ['platform'] });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(nsA, nsB, nsOwn, web);
    await scratch?.cleanup();
  });

  const vend = (token: string, body: object = {}, remoteAddress?: string) =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: body, ...(remoteAddress ? { remoteAddress } : {}) });
  const call = async (method: 'GET' | 'DELETE' | 'POST', url: string, token: string) =>
    kv.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(method === 'POST' ? { payload: {} } : {}) });
  const job = (repo: string, claims: Record<string, unknown> = {}) => ci.mint(githubClaims(repo, claims));

  describe('replay', () => {
    it.each([
      ['the empty string', ''], ['blanks', '   '], ['a number', 123], ['zero', 0], ['null', null], ['an array', ['a']],
      ['an object', { id: 'a' }], ['300 characters', 'x'.repeat(300)],
    ])('when a token\'s jti is %s, then it is refused every time and nothing is issued', async (_, jti) => {
      const token = await job(`acme/${nsA}`, { jti });
      for (let i = 0; i < 3; i++) {
        const res = await vend(token);
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('claim_invalid');
      }
    });

    it('when a used token is replayed after its exp but inside the leeway, then it is refused as replayed', async () => {
      const token = await job(`acme/${nsA}`, { iat: now() - 5, nbf: now() - 5, exp: now() + 2 });
      expect((await vend(token)).statusCode).toBe(201);
      await sleep(3500);
      const again = await vend(token);
      expect(again.statusCode).toBe(401);
      expect(again.json().code).toBe('token_replayed');
    });

    it('when a spent token is replayed again and again, then it writes no issuance record and costs its pipeline no rate limit', async () => {
      const token = await job('acme/svc-replayed');
      expect((await vend(token)).statusCode).toBe(201);
      const before = (await kv.store.issuances.list({ pipeline: 'services' }, { limit: 500 })).items.length;
      for (let i = 0; i < 20; i++) expect((await vend(token)).json().code).toBeOneOf(['token_replayed', 'rate_limited']);
      expect((await kv.store.issuances.list({ pipeline: 'services' }, { limit: 500 })).items.length).toBe(before);
      expect((await vend(await job('acme/svc-replayed'))).statusCode).toBe(201);
    });

    it('when a token\'s iat is an hour in the future, then it is refused', async () => {
      const res = await vend(await job(`acme/${nsA}`, { iat: now() + 3600 }));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'claim_invalid', detail: expect.stringMatching(/iat/) });
    });
  });

  describe('the holder rule', () => {
    it('when a pipeline matches on a derived claim, then its job can list, read and revoke what it was issued', async () => {
      const issued = (await vend(await job(`acme/${nsA}`))).json();
      expect(issued.namespace).toBe(nsA);
      const list = await call('GET', '/v1/issuances?state=active', await job(`acme/${nsA}`));
      expect(list.statusCode).toBe(200);
      expect(list.json().items.map((i: { id: string }) => i.id)).toContain(issued.issuanceId);
      expect((await call('GET', `/v1/issuances/${issued.issuanceId}`, await job(`acme/${nsA}`))).statusCode).toBe(200);
      const revoked = await call('DELETE', `/v1/issuances/${issued.issuanceId}`, await job(`acme/${nsA}`));
      expect(revoked.statusCode).toBe(200);
      expect(revoked.json().state).toBe('revoked');
    });

    it('when a job under the same glob revokes another job\'s credential, then it is not found, and the holder still can', async () => {
      const issued = (await vend(await job('acme/svc-a'))).json();
      const stolen = await call('DELETE', `/v1/issuances/${issued.issuanceId}`, await job('acme/svc-b'));
      expect(stolen.statusCode).toBe(404);
      expect(stolen.json().code).toBe('issuance_not_found');
      const listed = (await call('GET', '/v1/issuances?pipeline=services', await job('acme/svc-b'))).json();
      expect(listed.items.map((i: { id: string }) => i.id)).not.toContain(issued.issuanceId);
      expect((await kv.store.issuances.get(issued.issuanceId))?.state).toBe('active');
      expect((await call('DELETE', `/v1/issuances/${issued.issuanceId}`, await job('acme/svc-a'))).statusCode).toBe(200);
    });

    it('when another job of the same pipeline tries to see, revoke or rotate an issuance, then it is not found and the credential stays', async () => {
      const issued = (await vend(await job(`acme/${nsA}`))).json();
      const other = () => job(`acme/${nsB}`);
      expect((await call('GET', `/v1/issuances/${issued.issuanceId}`, await other())).json().code).toBe('issuance_not_found');
      expect((await call('DELETE', `/v1/issuances/${issued.issuanceId}`, await other())).json().code).toBe('issuance_not_found');
      expect((await call('POST', `/v1/issuances/${issued.issuanceId}/rotate`, await other())).json().code).toBe('issuance_not_found');
      const list = (await call('GET', '/v1/issuances?pipeline=named', await other())).json();
      expect(list.items.map((i: { id: string }) => i.id)).not.toContain(issued.issuanceId);
      expect((await kv.store.issuances.get(issued.issuanceId))?.state).toBe('active');
      expect((await kubectl(['-n', nsA, 'get', 'secret', `kv-named-${issued.issuanceId}`])).code).toBe(0);
    });
  });

  describe('templated names', () => {
    it.each([['kube-system'], ['default'], ['kubevend\'s own namespace']])('when a repository is named like %s, then no credential is made there and explain says why', async (name) => {
      const target = name === 'kubevend\'s own namespace' ? nsOwn : name;
      const token = await job(`acme/${target}`);
      const res = await vend(token);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'grant_not_allowed', detail: expect.stringContaining(`namespace "${target}" is protected`) });
      const explained = (await kv.app.inject({ method: 'POST', url: '/v1/explain', headers: { authorization: `Bearer ${await job(`acme/${target}`)}` }, payload: {} })).json();
      expect(explained.pipelines[0].grants[0].reason).toMatch(/is protected \(protectedNamespaces\)/);
      expect((await kubectl(['-n', target, 'get', 'secrets', '-l', 'kubevend.io/pipeline=named', '-o', 'name'])).stdout.trim()).toBe('');
    });

    it('when two pipelines\' templates could render the same namespace, then the policy does not load', async () => {
      const file = join(scratch.dir, `collide-${randomUUID()}.yaml`);
      await writeFile(file, stringify({
        ...policy,
        pipelines: [
          { name: 'gh', issuer: 'ci', match: { repository: 'acme/*' }, grants: [{ cluster: 'local', namespace: 'ci-{{repository_name}}', serviceAccount: 'd' }] },
          { name: 'gl', issuer: 'sso', match: { project_path: 'shop/*' }, grants: [{ cluster: 'local', namespace: 'ci-{{project_name}}', serviceAccount: 'd' }] },
        ],
      }));
      await expect(loadPolicyFile(file)).rejects.toThrow(/pipelines\.\d\.grants\.0\.namespace: can render the same namespace as pipelines\.\d\.grants\.0\.namespace \(pipeline "g[hl]"\)/);
    });
  });

  describe('a flood', () => {
    it('when thousands of junk and unmatched requests arrive, then the ledger grows by one record per address and window, and addresses past their budget are refused at once', async () => {
      const lastId = (await kv.store.audit.list({}, { limit: 1 })).items[0]?.id ?? 0;
      const started = Date.now();
      const addresses = ['10.9.0.1', '10.9.0.2', '10.9.0.3'];
      const answers: number[] = [];
      for (let i = 0; i < 300; i++) {
        const address = addresses[i % addresses.length]!;
        // Tokens that do not verify, then valid tokens that no pipeline fits.
        const token = i < 240 ? `junk.${i}.x` : await job('evil/web');
        answers.push((await vend(token, {}, address)).statusCode);
      }
      // 80 failures an address against a budget of 60: each was refused at once past it.
      expect(answers.filter((s) => s === 429).length).toBeGreaterThan(0);
      const windows = Math.ceil((Date.now() - started) / 1000) + 2;
      await sleep(1200);
      // The flood's own addresses: an earlier test's refusals from another address may be counted in a window that closes meanwhile.
      const records = (await kv.store.audit.list({}, { limit: 500 })).items.filter((r) => r.id > lastId && addresses.includes(r.clientAddress ?? ''));
      expect(records.every((r) => r.kind === 'refusals')).toBe(true);
      expect(records.length).toBeLessThanOrEqual(addresses.length * windows);
      const counted = records.reduce((sum, r) => sum + Number(/^(\d+) refused/.exec(r.reason ?? '')![1]), 0);
      expect(counted).toBe(300);
      const metrics = await (await kv.metrics.registry.getSingleMetric('kubevend_refusals_total')!.get()).values;
      expect(metrics.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThanOrEqual(300);
      expect(await kv.store.audit.verify()).toMatchObject({ ok: true });
    });

    it('when an address has spent its budget of failed authentications, then even a valid token from it is refused unverified', async () => {
      // A budget of 3 that earns one back every 20 s, so that a slow machine cannot refill it mid-test.
      const strict = await startKubevend(scratch.dir, policy, { store: kv.store, ownNamespace: nsOwn, authFailuresPerMinute: 3 });
      try {
        const from = (token: string, remoteAddress: string) =>
          strict.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${token}` }, payload: {}, remoteAddress });
        const junk = [];
        for (let i = 0; i < 5; i++) junk.push((await from(`junk.${i}.x`, '10.9.2.1')).statusCode);
        expect(junk).toEqual([401, 401, 401, 429, 429]);
        const valid = await from(await job('acme/web'), '10.9.2.1');
        expect(valid.statusCode).toBe(429);
        expect(Number(valid.headers['retry-after'])).toBeGreaterThan(0);
        // Another address is untouched by it: its valid token is verified and judged (no pipeline fits).
        expect((await from(await job('evil/web'), '10.9.2.2')).json().code).toBe('pipeline_not_matched');
      } finally {
        await strict.close();
      }
    });

    it('when a pipeline\'s own jobs are refused again and again, then each refusal is a record up to its rate limit, and the rest are counted', async () => {
      const address = '10.9.1.1';
      for (let i = 0; i < 12; i++) expect((await vend(await job('acme/strict'), {}, address)).statusCode).toBeOneOf([403, 429]);
      const own = (await kv.store.audit.list({ pipeline: 'strict' })).items;
      expect(own).toHaveLength(5);
      expect(own.every((r) => r.reasonCode === 'conditions_not_met')).toBe(true);
    });
  });

  describe('the kill switch', () => {
    it('when an admin pulls it while a credential is being issued, then that one is not handed out, and no replica issues until it is lifted', async () => {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      const inFlight = vend(await job('acme/web'));
      await expect.poll(async () => (await kv.store.issuances.list({ pipeline: 'web', state: 'pending' })).items.length).toBe(1);
      const pending = (await kv.store.issuances.list({ pipeline: 'web', state: 'pending' })).items[0]!;
      const pulled = await kv.app.inject({ method: 'POST', url: '/v1/issuances/revoke', headers: { authorization: `Bearer ${admin}` }, payload: { pipeline: 'web' } });
      expect(pulled.statusCode).toBe(200);
      expect(pulled.json().suspension).toMatchObject({ pipeline: 'web', cluster: null, suspendedBy: 'sso:ops-jane' });
      gate = undefined;
      release();
      const answer = await inFlight;
      expect(answer.statusCode).toBe(403);
      expect(answer.json().code).toBe('pipeline_suspended');
      expect((await kv.store.issuances.get(pending.id))?.state).toBe('failed');
      expect((await kubectl(['-n', web, 'get', 'secret', `kv-web-${pending.id}`])).code).not.toBe(0);

      // Another replica on the same store refuses too, at once.
      const replica = await startKubevend(scratch.dir, policy, { store: kv.store, ownNamespace: nsOwn });
      try {
        const refused = await replica.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${await job('acme/web')}` }, payload: {} });
        expect(refused.json().code).toBe('pipeline_suspended');
      } finally {
        await replica.close();
      }
      expect((await vend(await job('acme/web'))).json().code).toBe('pipeline_suspended');
      expect((await call('DELETE', '/v1/suspensions/web', admin)).statusCode).toBe(200);
      expect((await vend(await job('acme/web'))).statusCode).toBe(201);
    });
  });

  describe('what an outside review found', () => {
    /** Sends a credential request's headers now and its body when `send` is called; answers the status. */
    async function heldRequest(base: URL, token: string): Promise<{ send: () => Promise<number>; socket: Socket }> {
      const socket = connect(Number(base.port), base.hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST /v1/credentials HTTP/1.1\r\nHost: kubevend\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n`);
      const answer = new Promise<number>((resolve) => {
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk;
          const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
          if (status) resolve(Number(status[1]));
        });
      });
      return { socket, send: () => (socket.write('{}'), answer) };
    }

    it('when a spent token\'s request holds its body back until the token has expired, then the body is refused and nothing is issued', async () => {
      const base = new URL(await kv.app.listen({ port: 0, host: '127.0.0.1' }));
      try {
        const token = await quick.mint(githubClaims('acme/quick', { iat: now() - 1, nbf: now() - 1, exp: now() + 2 }));
        expect((await vend(token)).statusCode).toBe(201);
        const held = await Promise.all([1, 2, 3].map(() => heldRequest(base, token)));
        await sleep(3500);
        expect(await Promise.all(held.map((h) => h.send()))).toEqual([401, 401, 401]);
        held.forEach((h) => h.socket.destroy());
        expect((await kv.store.issuances.list({ pipeline: 'quick' })).items).toHaveLength(1);
      } finally {
        await kv.app.server.close();
      }
    });

    it('when idle sockets hold requests whose bodies never come, then they hold no issuing slot', async () => {
      const small = await startKubevend(scratch.dir, policy, { maxInFlight: 2, ownNamespace: nsOwn });
      try {
        const base = new URL(await small.app.listen({ port: 0, host: '127.0.0.1' }));
        const idle = await Promise.all([1, 2, 3, 4].map(async () => heldRequest(base, await job('evil/never'))));
        const res = await small.app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${await job('acme/web')}` }, payload: {} });
        expect(res.statusCode).toBe(201);
        idle.forEach((h) => h.socket.destroy());
      } finally {
        await small.close();
      }
    });

    it('when repositories share a sub, then one still cannot act on the other\'s issuance', async () => {
      const shared = { sub: 'repository_owner:acme' };
      const issued = (await vend(await job('acme/svc-one', shared))).json();
      const other = await job('acme/svc-two', shared);
      expect((await call('DELETE', `/v1/issuances/${issued.issuanceId}`, other)).json().code).toBe('issuance_not_found');
      expect((await call('GET', `/v1/issuances/${issued.issuanceId}`, await job('acme/svc-two', shared))).json().code).toBe('issuance_not_found');
      const listed = (await call('GET', '/v1/issuances?pipeline=services', await job('acme/svc-two', shared))).json();
      expect(listed.items.map((i: { id: string }) => i.id)).not.toContain(issued.issuanceId);
      expect((await call('DELETE', `/v1/issuances/${issued.issuanceId}`, await job('acme/svc-one', shared))).statusCode).toBe(200);
    });

    it('when a token carries its own repository_name, then the derived one counts', async () => {
      const res = await vend(await job(`acme/${nsA}`, { repository_name: nsB }));
      expect(res.statusCode).toBe(201);
      expect(res.json().namespace).toBe(nsA);
    });

    it('when a NUL is in a query, a body or a claim, then the answer is a 400 or 401 problem on either store', async () => {
      const query = await call('GET', '/v1/issuances?cluster=%00', await job('acme/web'));
      expect(query.statusCode).toBe(400);
      expect(query.json().code).toBe('invalid_request');
      const body = await vend(await job('acme/web'), { cluster: 'lo\u0000cal' });
      expect(body.statusCode).toBe(400);
      const claim = await vend(await job('acme/web', { jti: '\u0000' }));
      expect(claim.statusCode).toBe(401);
      expect(claim.json().code).toBe('claim_invalid');
    });
  });
});
