import { mkdir, open, rename, symlink, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parsePolicy, PolicyError } from '../src/policy/load.ts';
import { RELOAD_DEBOUNCE_MS, watchPolicyFile } from '../src/policy/watch.ts';
import { parse, stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

const run = promisify(execFile);

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

  // Many pipelines, so that a reload takes long enough for the next write to land during it.
  const large = (repository: string, size = 5000) => {
    const policy = policyFor(repository);
    const filler = Array.from({ length: size }, (_, i) => ({ ...policy.pipelines[0]!, name: `filler-${i}`, match: { repository: `acme/filler-${i}` } }));
    return stringify({ ...policy, pipelines: [...policy.pipelines, ...filler] });
  };

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

  describe('a large file', () => {
    it('when the file changes again while a reload is under way, then the newest file ends up in force', async () => {
      const file = join(scratch.dir, 'racing.yaml');
      const texts = Object.fromEntries(['first', 'second', 'third', 'fourth', 'fifth'].map((n) => [n, large(`acme/${n}`)]));
      await writeFile(file, texts.first!);
      const watcher = await watchPolicyFile(file);
      const served = () => Promise.resolve(String(watcher.current().pipelines[0]!.match.repository));
      try {
        const first = watcher.reload();
        // Past its read of the file, into its parsing, which yields between its steps.
        await new Promise((r) => setTimeout(r, 30));
        await writeFile(file, texts.second!);
        // Asked while the first reload runs: it answers once the file as it is now is in force.
        const second = watcher.reload();
        expect(await first).toBe(true);
        expect(await second).toBe(true);
        expect(await served()).toBe('acme/second');
        // And through the file's own events, each write landing while the last one's reload runs.
        for (const n of ['third', 'fourth', 'fifth']) {
          await writeFile(file, texts[n]!);
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(await until(served, (r) => r === 'acme/fifth', 15_000)).toBe('acme/fifth');
      } finally {
        watcher.close();
      }
    });
  });

  describe('a file copied by another process', () => {
    // Nine tenths of the file, a pause of 40 ms, then the rest, as a copy over a slow link may
    // write; prints how long the pause really was.
    const copier = `
      const { readFileSync, openSync, writeSync, closeSync } = require('node:fs');
      const [source, target] = process.argv.slice(1);
      const text = readFileSync(source);
      const fd = openSync(target, 'w');
      writeSync(fd, text.subarray(0, Math.floor(text.length * 0.9)));
      const paused = performance.now();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40);
      writeSync(fd, text.subarray(Math.floor(text.length * 0.9)));
      process.stdout.write(String(performance.now() - paused));
      closeSync(fd);
    `;

    it('when the copy pauses for less than the debounce while the first part parses, then the part is neither served nor refused', async () => {
      const file = join(scratch.dir, 'copied.yaml');
      const source = join(scratch.dir, 'copied.source');
      await writeFile(file, stringify(policyFor('acme/old')));
      // Large enough that the first part parses for longer than the rest of the debounce.
      await writeFile(source, large('acme/new', 10_000));
      const outcomes: string[] = [];
      const served = () => String(watcher.current().pipelines[0]!.match.repository);
      const watcher = await watchPolicyFile(file, { onReload: (ok) => outcomes.push(ok ? served() : 'refused') });
      try {
        const pauseMs = Number((await run(process.execPath, ['-e', copier, source, file])).stdout);
        await until(async () => outcomes, (o) => o.length > 0, 15_000);
        await new Promise((r) => setTimeout(r, 3 * RELOAD_DEBOUNCE_MS));
        // A pause past the debounce (a stalled machine) would make the part a file of its own.
        if (pauseMs < RELOAD_DEBOUNCE_MS) expect(outcomes).toEqual(['acme/new']);
        expect(watcher.current().pipelines).toHaveLength(10_001);
      } finally {
        watcher.close();
      }
    });
  });

  describe('a file rewritten more often than it loads', () => {
    // Another process replaces the file whole (a rename, so every read is a complete policy)
    // every 200 ms for 8 s, two versions in turn, as a sync sidecar or a generator in a loop may;
    // prints when it began and ended.
    const rewriter = `
      const { copyFileSync, renameSync } = require('node:fs');
      const [a, b, target] = process.argv.slice(1);
      const began = Date.now();
      for (let i = 0; Date.now() - began < 8000; i++) {
        copyFileSync(i % 2 ? b : a, target + '.next');
        renameSync(target + '.next', target);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      }
      process.stdout.write(JSON.stringify({ began, ended: Date.now() }));
    `;

    it('when the file keeps changing, then a version of it is served while it does, and an asked-for reload serves', async () => {
      const file = join(scratch.dir, 'churning.yaml');
      const [a, b] = [join(scratch.dir, 'churning.a'), join(scratch.dir, 'churning.b')];
      await writeFile(file, stringify(policyFor('acme/old')));
      // Large enough that a load takes longer than the writes are apart.
      await writeFile(a, large('acme/a', 10_000));
      await writeFile(b, large('acme/b', 10_000));
      const servedAt: number[] = [];
      const watcher = await watchPolicyFile(file, { onReload: (ok) => ok && servedAt.push(Date.now()) });
      const rewriting = run(process.execPath, ['-e', rewriter, a, b, file]);
      try {
        await new Promise((r) => setTimeout(r, 3000));
        // An operator's reload (SIGHUP) in the middle of it is served, not put off behind the changes.
        expect(await watcher.reload()).toBe(true);
        const { ended } = JSON.parse((await rewriting).stdout) as { began: number; ended: number };
        expect(servedAt.filter((t) => t < ended).length).toBeGreaterThanOrEqual(1);
        expect(['acme/a', 'acme/b']).toContain(String(watcher.current().pipelines[0]!.match.repository));
      } finally {
        await rewriting.catch(() => undefined);
        watcher.close();
      }
    });
  });

  describe('a file written in two parts', () => {
    it('when the writer pauses half-way for less than the debounce, then the half written is neither served nor refused', async () => {
      const file = join(scratch.dir, 'halting.yaml');
      await writeFile(file, stringify(policyFor('acme/old')));
      // The first part alone is a valid policy of one pipeline; the second adds a pipeline to its list.
      const head = stringify(policyFor('acme/half'));
      const tail = stringify([{ ...policyFor('acme/tail').pipelines[0]!, name: 'q' }]).replace(/^/gm, '  ').trimEnd() + '\n';
      expect((parse(head + tail) as { pipelines: unknown[] }).pipelines).toHaveLength(2);
      const outcomes: string[] = [];
      const watcher = await watchPolicyFile(file, { onReload: (ok) => outcomes.push(ok ? `${watcher.current().pipelines.length} pipeline(s)` : 'refused') });
      const handle = await open(file, 'w');
      try {
        await handle.write(head);
        const paused = performance.now();
        await new Promise((r) => setTimeout(r, RELOAD_DEBOUNCE_MS / 2));
        await handle.write(tail);
        const pauseMs = performance.now() - paused;
        await handle.close();
        await until(async () => outcomes, (o) => o.length > 0);
        await new Promise((r) => setTimeout(r, 3 * RELOAD_DEBOUNCE_MS));
        // A pause past the debounce (a stalled machine) would make the half a file of its own.
        if (pauseMs < RELOAD_DEBOUNCE_MS) expect(outcomes).toEqual(['2 pipeline(s)']);
        expect(watcher.current().pipelines.map((p) => p.name)).toEqual(['p', 'q']);
      } finally {
        watcher.close();
      }
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

  it('when the file nests aliases to blow up its size, then it is refused at once, naming the cause', async () => {
    // The "billion laughs" of YAML: ten levels of ten aliases each, 10^10 nodes once expanded.
    const levels = Array.from({ length: 10 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`);
    const text = `l0: &l0 ["lol"]\n${levels.join('\n')}\n`;
    const started = Date.now();
    const refused = await parsePolicy('bomb.yaml', text).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(PolicyError);
    expect((refused as Error).message).toMatch(/^bomb\.yaml: not valid YAML: its aliases expand/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('when an alias repeats a block a few times, as operators write them, then the policy loads', async () => {
    const text = [
      'issuers: [{ name: ci, issuer: "https://ci.example.com", audiences: [kubevend], jwksUri: "https://ci.example.com/jwks" }]',
      'clusters: [{ name: local, kubeconfig: kc.yaml }]',
      'grant: &grant { cluster: local, namespace: web, serviceAccount: deployer }',
      'pipelines:',
      '  - { name: a, issuer: ci, match: { repository: acme/a }, grants: [*grant] }',
      '  - { name: b, issuer: ci, match: { repository: acme/b }, grants: [*grant] }',
    ].join('\n');
    const refused = await parsePolicy('anchors.yaml', text).catch((err: unknown) => err);
    // Only the unknown top-level key is refused: the aliases themselves are accepted.
    expect((refused as Error).message).toMatch(/grant/);
    expect((refused as Error).message).not.toMatch(/aliases/);
  });
});
