import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startServer } from './helpers/server-process.ts';

describe('kubevend start-up', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let goodPolicy: Record<string, unknown>;
  let ns: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ns = await createNamespace('server');
    await createViewerServiceAccount(ns, 'deployer');
    ci = await createTestIssuer(scratch.dir);
    goodPolicy = {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer', kinds: ['durable'] }] }],
    };
  });
  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch.cleanup();
  });

  async function policyFile(policy: unknown, name = 'policy.yaml'): Promise<string> {
    const file = join(scratch.dir, name);
    await writeFile(file, typeof policy === 'string' ? policy : stringify(policy));
    return file;
  }

  it('when the policy has a bad field, then start-up stops with the file and the field named', async () => {
    const bad = structuredClone(goodPolicy) as { pipelines: { grants: { ttl?: unknown }[] }[] };
    bad.pipelines[0]!.grants[0]!.ttl = { default: '2h', max: '1h' };
    const file = await policyFile(bad, 'bad-ttl.yaml');
    const server = startServer({ KUBEVEND_POLICY_FILE: file, KUBEVEND_PORT: '0' });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toContain(file);
    expect(server.stderr()).toContain('pipelines.0.grants.0.ttl.default');
    expect(server.stderr()).not.toMatch(/\n\s+at /);
  });

  it('when a pipeline names an issuer that does not exist, then start-up says which', async () => {
    const bad = structuredClone(goodPolicy) as { pipelines: { issuer: string }[] };
    bad.pipelines[0]!.issuer = 'gitlab';
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile(bad, 'bad-issuer.yaml'), KUBEVEND_PORT: '0' });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toMatch(/pipelines\.0\.issuer: no issuer named "gitlab"/);
  });

  it('when an issuer\'s key file is missing, then start-up names the field and the file', async () => {
    const bad = structuredClone(goodPolicy) as { issuers: { publicKeyFile: string }[] };
    bad.issuers[0]!.publicKeyFile = 'missing.pem';
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile(bad, 'bad-key.yaml'), KUBEVEND_PORT: '0' });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toMatch(/issuers\.0\.publicKeyFile: cannot read .*missing\.pem \(ENOENT\)/);
  });

  it('when the policy is not YAML, then start-up says so', async () => {
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile('issuers: [unclosed', 'broken.yaml'), KUBEVEND_PORT: '0' });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toMatch(/broken\.yaml: not valid YAML/);
  });

  it('when the environment is invalid, then start-up names the variable', async () => {
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile(goodPolicy), KUBEVEND_PORT: 'eighty' });
    expect(await server.code).toBe(1);
    expect(server.stderr()).toMatch(/KUBEVEND_PORT/);
  });

  it('when the configuration is good, then it serves /readyz and exits cleanly on SIGTERM', async () => {
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile(goodPolicy) });
    const res = await fetch(`${await server.address()}/readyz`);
    expect(res.status).toBe(200);
    server.kill();
    expect(await server.code).toBe(0);
  });

  it('when SIGTERM arrives while credentials are being issued, then those finish and are answered before the process exits', async () => {
    // At debug, each request logs its arrival.
    const server = startServer({ KUBEVEND_POLICY_FILE: await policyFile(goodPolicy, 'drain.yaml'), KUBEVEND_LOG_LEVEL: 'debug' });
    const url = await server.address();
    const tokens = await Promise.all(Array.from({ length: 8 }, () => ci.mint(githubClaims('acme/web'))));
    const answers = tokens.map((token) => fetch(`${url}/v1/credentials`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'durable' }),
    }));
    // Once all eight are inside the server (and none answered yet), the signal comes.
    const arrived = () => server.stdout().match(/"url":"\/v1\/credentials"[^\n]*"msg":"request received"/g)?.length ?? 0;
    while (arrived() < 8) await new Promise((r) => setTimeout(r, 2));
    server.kill();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses).toEqual(Array(8).fill(201));
    expect(await server.code).toBe(0);
    // At least one of them was still under way when the process began to close.
    const log = server.stdout();
    expect(log.lastIndexOf('credential issued')).toBeGreaterThan(log.indexOf('"msg":"closing"'));
  });
});

describe('configuration from the environment', () => {
  it('when durations are given as bare seconds or with units, then both mean what they say', async () => {
    const { loadConfig } = await import('../src/config.ts');
    const config = loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml', KUBEVEND_REAPER_INTERVAL: '60', KUBEVEND_DURABLE_TOKEN_TIMEOUT: '2m', KUBEVEND_AUDIT_RETENTION: '400d' });
    expect(config).toMatchObject({ reaperIntervalSeconds: 60, durableTokenTimeoutSeconds: 120, auditRetentionSeconds: 400 * 86400 });
    expect(loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml', KUBEVEND_REAPER_INTERVAL: '0' }).reaperIntervalSeconds).toBe(0);
  });

  it('when an installation is named, then it must be a label value; unnamed, it is "kubevend"', async () => {
    const { loadConfig } = await import('../src/config.ts');
    expect(loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml' }).instance).toBe('kubevend');
    expect(loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml', KUBEVEND_INSTANCE: 'ci-prod.eu_1' }).instance).toBe('ci-prod.eu_1');
    for (const bad of ['', '-prod', 'prod/eu', 'a'.repeat(64), 'prod,x=y']) {
      expect(() => loadConfig({ KUBEVEND_POLICY_FILE: 'p.yaml', KUBEVEND_INSTANCE: bad }), bad).toThrow(/KUBEVEND_INSTANCE: must be a Kubernetes label value/);
    }
  });
});
