import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// A CI fleet does not ask politely: a matrix starts hundreds of jobs in the same second.
describe('admission by fair queuing', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let ns: string;
  let policy: object;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('admission');
    await createViewerServiceAccount(ns, 'deployer');
    const grants = [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }];
    const rateLimit = { requests: 100_000, per: '1m' };
    policy = {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'matrix', issuer: 'ci', match: { repository: 'acme/monorepo' }, rateLimit, grants },
        { name: 'hotfix', issuer: 'ci', match: { repository: 'acme/hotfix' }, rateLimit, grants },
      ],
    };
  });

  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const vend = async (kv: Kubevend, repository: string) =>
    kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims(repository))}` } });

  it('when 300 jobs of one pipeline ask at the same instant, then every one is served, none refused', async () => {
    const kv = await startKubevend(scratch.dir, policy);
    try {
      const tokens = await Promise.all(Array.from({ length: 300 }, () => ci.mint(githubClaims('acme/monorepo'))));
      const answers = await Promise.all(tokens.map((token) =>
        kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${token}` } })));
      const codes = answers.map((a) => a.statusCode);
      expect(codes.filter((c) => c !== 201)).toEqual([]);
    } finally {
      await kv.close();
    }
  });

  it('when one pipeline floods, then another pipeline\'s requests are served next, not after the flood', async () => {
    const concurrency = 2;
    const kv = await startKubevend(scratch.dir, policy, { maxInFlight: concurrency });
    try {
      const done: string[] = [];
      const flood = Array.from({ length: 150 }, async () => {
        const res = await vend(kv, 'acme/monorepo');
        done.push('matrix');
        return res.statusCode;
      });
      // Once the flood is being served (and so queued), the other pipeline asks three times, one after another.
      await expect.poll(() => done.length, { interval: 5 }).toBeGreaterThanOrEqual(2);
      const hotfix: { statusCode: number; floodServedMeanwhile: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const before = done.length;
        const res = await vend(kv, 'acme/hotfix');
        done.push('hotfix');
        hotfix.push({ statusCode: res.statusCode, floodServedMeanwhile: done.length - 1 - before });
      }
      const floodCodes = await Promise.all(flood);
      expect(floodCodes.every((c) => c === 201)).toBe(true);
      const floodLeft = 150 - done.slice(0, done.lastIndexOf('hotfix')).filter((d) => d === 'matrix').length;
      // Each hotfix request waits for the slots already running and a turn or two of the flood (its
      // own verification takes a moment too, while the flood goes on), where one queue for all would
      // have made it wait behind the hundred and more flood requests queued before it.
      for (const h of hotfix) {
        expect(h.statusCode).toBe(201);
        expect(h.floodServedMeanwhile).toBeLessThanOrEqual(6 * concurrency);
      }
      expect(floodLeft).toBeGreaterThan(75);
    } finally {
      await kv.close();
    }
  });
});
