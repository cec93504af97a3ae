import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('policy hot reload', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;

  const policyFor = (repository: string) => ({
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
    clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
    pipelines: [{ name: 'p', issuer: 'ci', match: { repository }, grants: [{ cluster: 'local', namespace: 'web', serviceAccount: 'deployer' }] }],
  });

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
  });
  afterAll(() => scratch.cleanup());

  const decisionFor = async (kv: Kubevend, repository: string): Promise<string> => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/explain', payload: {},
      headers: { authorization: `Bearer ${await ci.mint(githubClaims(repository))}` },
    });
    return res.json().decision;
  };

  describe('a plain file', () => {
    let kv: Kubevend;
    beforeAll(async () => {
      kv = await startKubevend(scratch.dir, policyFor('acme/one'));
    });
    afterAll(() => kv.close());

    it('when the file is rewritten, then the new policy decides without a restart', async () => {
      expect(await decisionFor(kv, 'acme/two')).toBe('denied');
      await writeFile(kv.policyFile, stringify(policyFor('acme/two')));
      expect(await until(() => decisionFor(kv, 'acme/two'), (d) => d === 'granted')).toBe('granted');
      expect(await decisionFor(kv, 'acme/one')).toBe('denied');
    });

    it('when the new file is invalid, then the last good policy stays and readiness and metrics say why', async () => {
      const broken = policyFor('acme/three') as { pipelines: { grants: { namespace: string }[] }[] };
      broken.pipelines[0]!.grants[0]!.namespace = 'Not_A_Namespace';
      await writeFile(kv.policyFile, stringify(broken));
      const ready = await until(
        async () => (await kv.app.inject({ method: 'GET', url: '/readyz' })).json(),
        (body) => body.checks.policy.reloadError !== undefined,
      );
      expect(ready.status).toBe('ok');
      expect(ready.checks.policy.reloadError.message).toContain(kv.policyFile);
      expect(ready.checks.policy.reloadError.message).toContain('pipelines.0.grants.0.namespace');
      expect(await decisionFor(kv, 'acme/two')).toBe('granted');
      const metrics = (await kv.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^kubevend_policy_last_reload_success 0$/m);
      expect(metrics).toMatch(/^kubevend_policy_reloads_total\{result="refused"\} [1-9]/m);
      expect(kv.logs.join('')).toContain('policy reload refused');

      await writeFile(kv.policyFile, stringify(policyFor('acme/three')));
      expect(await until(() => decisionFor(kv, 'acme/three'), (d) => d === 'granted')).toBe('granted');
      expect((await kv.app.inject({ method: 'GET', url: '/readyz' })).json().checks.policy.reloadError).toBeUndefined();
      expect((await kv.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^kubevend_policy_last_reload_success 1$/m);
    });
  });

  describe('a mounted ConfigMap', () => {
    it('when the ConfigMap swaps its ..data symlink, then the new policy decides', async () => {
      // The layout the kubelet writes: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>.
      const mount = join(scratch.dir, 'configmap');
      await mkdir(join(mount, '..v1'), { recursive: true });
      await writeFile(join(mount, '..v1', 'policy.yaml'), stringify(policyFor('acme/old')));
      await symlink('..v1', join(mount, '..data'));
      await symlink(join('..data', 'policy.yaml'), join(mount, 'policy.yaml'));
      // Writing through the symlink leaves ..v1/policy.yaml as it was.
      const watched = await startKubevend(scratch.dir, policyFor('acme/old'), { file: join(mount, 'policy.yaml') });
      try {
        expect(await decisionFor(watched, 'acme/new')).toBe('denied');
        await mkdir(join(mount, '..v2'));
        await writeFile(join(mount, '..v2', 'policy.yaml'), stringify(policyFor('acme/new')));
        await symlink('..v2', join(mount, '..data_tmp'));
        await rename(join(mount, '..data_tmp'), join(mount, '..data'));
        expect(await until(() => decisionFor(watched, 'acme/new'), (d) => d === 'granted')).toBe('granted');
      } finally {
        await watched.close();
      }
    });
  });
});
