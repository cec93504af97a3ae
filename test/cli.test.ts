import { glob, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { runCli, serveWithCli, startGithubIdTokenEndpoint } from './helpers/cli.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectl } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';

// The built `kubevend` command, run as a process against the real server and control plane.
describe('kubevend credentials, exec-credential and revoke', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let ops: TestIssuer;
  let served: Awaited<ReturnType<typeof serveWithCli>>;
  let url: string;
  let cli: string;
  let ns: string;
  let jobs = 0;

  beforeAll(async () => {
    scratch = await scratchDir();
    [ci, ops] = await Promise.all([createTestIssuer(scratch.dir), createTestIssuer(scratch.dir)]);
    ns = await createNamespace('cli');
    await createViewerServiceAccount(ns, 'deployer');
    served = await serveWithCli(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        { name: 'ops', issuer: ops.issuer, audiences: ['kubevend'], publicKeyFile: ops.publicKeyFile, replayProtection: false },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
        { name: 'api', issuer: 'ci', match: { repository: 'acme/api' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
      ],
      operators: [{ name: 'platform', issuer: 'ops', match: { groups: 'platform-team' }, role: 'admin' }],
    });
    ({ url, cli } = served);
  });

  afterAll(async () => {
    await served?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  /** A job's own folder, as a runner gives each job. */
  const jobFolder = async () => {
    const dir = join(scratch.dir, `job-${jobs++}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  const tokenEnv = async (repository = 'acme/web') => ({ KUBEVEND_URL: url, JOB_TOKEN: await ci.mint(githubClaims(repository)) });
  const operator = async () => ({ KUBEVEND_URL: url, KUBEVEND_TOKEN: await ops.mint({ sub: 'alice', groups: ['platform-team'] }) });
  const issuances = async () => JSON.parse((await runCli(cli, ['issuances', '--pipeline', 'web', '-o', 'json'], await operator())).stdout) as { id: string; state: string }[];

  it('when built, then the command imports only Node\'s own modules and answers --help', async () => {
    const source = await readFile(cli, 'utf8');
    const imported = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.filter((id) => !id!.startsWith('node:'))).toEqual([]);
    const help = await runCli(cli, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Exit codes: 0 done; 1 failed/m);
    expect((await runCli(cli, ['frobnicate'])).code).toBe(2);
  });

  it('when a job passes its token in a variable, then a 0600 kubeconfig that kubectl can use is written and exported, and no secret is printed', async () => {
    const dir = await jobFolder();
    const env = await tokenEnv();
    const file = join(dir, 'kubeconfig');
    const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', file], env);
    expect(run.stderr).toMatch(/pipeline web granted local\/cli-\w+ as deployer/);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`export KUBECONFIG='${file}'\nexport KUBEVEND_STATE='${join(dir, 'state.json')}'\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const kubeconfig = await readFile(file, 'utf8');
    const token = /token: "(.*)"/.exec(kubeconfig)![1]!;
    expect(`${run.stdout}${run.stderr}`).not.toContain(token);
    expect(`${run.stdout}${run.stderr}`).not.toContain(env.JOB_TOKEN);
    const get = await kubectl(['-n', ns, 'get', 'serviceaccounts'], { kubeconfig: file });
    expect(get.stdout).toContain('deployer');
  });

  it('when the service refuses (403), then the exit code is 3, stderr has code, detail and request id, and nothing is written over the old file', async () => {
    const dir = await jobFolder();
    const file = join(dir, 'kubeconfig');
    await writeFile(file, 'the previous kubeconfig\n', { mode: 0o600 });
    const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', file], await tokenEnv('acme/unknown'));
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^kubevend: 403 pipeline_not_matched: .+ \(request id [\w-]+\)$/m);
    expect(await readFile(file, 'utf8')).toBe('the previous kubeconfig\n');
    expect(run.stdout).toBe('');
  });

  it('when no identity token can be found, or a flag is wrong, then the exit code is 2 and nothing is asked', async () => {
    const none = await runCli(cli, ['credentials', '--url', url], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--token-file or --token-env/);
    const gitlab = await runCli(cli, ['credentials', '--url', url], { GITLAB_CI: 'true' });
    expect(gitlab.stderr).toMatch(/id_tokens: \{ KUBEVEND_ID_TOKEN/);
    expect((await runCli(cli, ['credentials', '--url', url, '--frobnicate'], {})).code).toBe(2);
    expect((await runCli(cli, ['credentials', '--url', url, '--format', 'yaml', '--token-env', 'X'], {})).code).toBe(2);
  });

  it('when the service cannot be reached, then the command retries until its deadline and exits 4', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--deadline', '3s'], { ...(await tokenEnv()), KUBEVEND_URL: `http://127.0.0.1:${port}` });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/ECONNREFUSED; trying again/);
    expect(run.stderr).toMatch(/could not be reached within 3s/);
    expect(run.ms).toBeGreaterThanOrEqual(3000);
  });

  describe('when the service answers 503 or 429 with Retry-After', () => {
    let proxy: Server;
    let busy: number;
    let status: number;
    let retryAfter: string;
    let proxyUrl: string;

    beforeAll(async () => {
      // In front of the real service: the first `busy` requests are turned away as kubevend does when at capacity.
      proxy = createServer((req, res) => {
        if (busy-- > 0) {
          res.writeHead(status, { 'content-type': 'application/problem+json', 'retry-after': retryAfter, 'x-request-id': `busy-${busy}` });
          res.end(JSON.stringify({ status, code: status === 429 ? 'rate_limited' : 'overloaded', detail: 'retry shortly' }));
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
          void fetch(`${url}${req.url}`, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) }).then(async (answer) => {
            res.writeHead(answer.status, Object.fromEntries(answer.headers));
            res.end(Buffer.from(await answer.arrayBuffer()));
          });
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    it('within the deadline, then it waits as told and gets the credential', async () => {
      [busy, status, retryAfter] = [2, 503, '1'];
      const dir = await jobFolder();
      const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(dir, 'kubeconfig')], { ...(await tokenEnv()), KUBEVEND_URL: proxyUrl });
      expect(run.code).toBe(0);
      expect(run.stderr.match(/503 overloaded: trying again in 1s/g)).toHaveLength(2);
      expect(run.ms).toBeGreaterThan(1900);
    });

    it('when a 2xx answer is not a credential (a proxy\'s page), then nothing is written and the exit code is 4', async () => {
      [busy, status, retryAfter] = [1, 200, '0'];
      const dir = await jobFolder();
      const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(dir, 'kubeconfig')], { ...(await tokenEnv()), KUBEVEND_URL: proxyUrl });
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/answered 2xx without a kubeconfig; nothing was written/);
      await expect(lstat(join(dir, 'kubeconfig'))).rejects.toThrow(/ENOENT/);
    });

    it('past the deadline, then it gives up at once with exit 4, naming the code and request id', async () => {
      [busy, status, retryAfter] = [1, 429, '120'];
      const dir = await jobFolder();
      const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--deadline', '30s', '--file', join(dir, 'kubeconfig')], { ...(await tokenEnv()), KUBEVEND_URL: proxyUrl });
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/429 rate_limited: retry shortly \(request id busy-0\); gave up: a retry in 120s would pass the deadline of 30s/);
      expect(run.ms).toBeLessThan(20_000);
      await expect(lstat(join(dir, 'kubeconfig'))).rejects.toThrow(/ENOENT/);
    });
  });

  it('when the README\'s curl snippet runs, then a grant is saved 0600 and a refusal is shown, not saved', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const snippet = /With curl, [^\n]*\n\n```sh\n([\s\S]*?)```/.exec(readme)![1]!.replaceAll('https://kubevend.internal', url);
    const shell = async (repository: string) => {
      const dir = await jobFolder();
      const env = { PATH: process.env.PATH!, CI_IDENTITY_TOKEN: await ci.mint(githubClaims(repository)) };
      const result = await promisify(execFile)('bash', ['-ec', snippet], { cwd: dir, env }).then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
      return { ...result, dir };
    };
    const granted = await shell('acme/web');
    expect(granted.code).toBe(0);
    expect((await stat(join(granted.dir, 'kubeconfig'))).mode & 0o777).toBe(0o600);
    expect((await kubectl(['-n', ns, 'get', 'serviceaccount', 'deployer', '-o', 'name'], { kubeconfig: join(granted.dir, 'kubeconfig') })).stdout.trim()).toBe('serviceaccount/deployer');
    const refused = await shell('acme/unknown');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"code":"pipeline_not_matched"');
    expect(await readdir(refused.dir)).toEqual([]);
  });

  it('when the service redirects, then the token is not sent on and the exit code is 2', async () => {
    let reached = 0;
    const elsewhere = createServer((_req, res) => {
      reached++;
      res.end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const redirecting = createServer((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${(elsewhere.address() as { port: number }).port}/v1/credentials` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const dir = await jobFolder();
      const run = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(dir, 'kubeconfig')],
        { ...(await tokenEnv()), KUBEVEND_URL: `http://127.0.0.1:${(redirecting.address() as { port: number }).port}` });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/answered 307, redirecting to http:\/\/127\.0\.0\.1:\d+\/v1\/credentials; the token is not sent on/);
      expect(reached).toBe(0);
    } finally {
      await Promise.all([elsewhere, redirecting].map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });

  it('when the job\'s folder in a shared TMPDIR was made by someone else first, then nothing is asked nor written there', async () => {
    const tmp = await jobFolder();
    const planted = join(tmp, 'kubevend-job-4242');
    await mkdir(planted, { mode: 0o777 });
    await import('node:fs/promises').then((fs) => fs.chmod(planted, 0o777));
    const before = (await issuances()).length;
    const run = await runCli(cli, ['credentials', '--url', url], { GITLAB_CI: 'true', CI_JOB_ID: '4242', TMPDIR: tmp, KUBEVEND_ID_TOKEN: await ci.mint(githubClaims('acme/web')) });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kubevend-job-4242 exists but is not a folder only this user can use; nothing was written/);
    expect(await readdir(planted)).toEqual([]);
    expect((await issuances()).length).toBe(before);
  });

  it('in GitHub Actions, then it asks the ID token endpoint for the audience, masks both tokens, and exports KUBECONFIG to GITHUB_ENV', async () => {
    const endpoint = await startGithubIdTokenEndpoint(ci, 'acme/web');
    try {
      const runnerTemp = await jobFolder();
      const githubEnv = join(runnerTemp, 'github-env');
      const githubOutput = join(runnerTemp, 'github-output');
      const run = await runCli(cli, ['credentials', '--url', url], {
        GITHUB_ACTIONS: 'true', CI: 'true', RUNNER_TEMP: runnerTemp, GITHUB_ENV: githubEnv, GITHUB_OUTPUT: githubOutput, ...endpoint.env,
      });
      expect(run.code).toBe(0);
      expect(endpoint.audiences).toEqual(['kubevend']);
      const kubeconfigFile = join(runnerTemp, 'kubevend', 'kubeconfig');
      const token = /token: "(.*)"/.exec(await readFile(kubeconfigFile, 'utf8'))![1]!;
      const masks = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
      expect(masks).toHaveLength(2);
      expect(masks).toContain(`::add-mask::${token}`);
      // Apart from the mask commands the runner hides, no line holds a secret.
      expect(run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toMatch(/eyJ|token/);
      expect(run.stderr).not.toContain(token);
      expect(await readFile(githubEnv, 'utf8')).toBe(`KUBECONFIG=${kubeconfigFile}\nKUBEVEND_STATE=${join(runnerTemp, 'kubevend', 'state.json')}\n`);
      expect(await readFile(githubOutput, 'utf8')).toMatch(new RegExp(`^kubeconfig=${kubeconfigFile}\nissuance-ids=\\w{26}\nexpires-at=\\d{4}-`));
    } finally {
      await endpoint.close();
    }
  });

  it('when asked for env lines or an ExecCredential on stdout, then that is the only thing printed', async () => {
    const env = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--format', 'env', '--file', '-'], await tokenEnv());
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/^KUBEVEND_ISSUANCE_IDS=\w{26}\nKUBEVEND_EXPIRES_AT=.+\nKUBECONFIG_DATA=.+\nKUBE_SERVER=https:\/\/127\.0\.0\.1:\d+\nKUBE_NAMESPACE=cli-\w+\nKUBE_TOKEN=.+\n/);
    const exec = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--format', 'exec-credential', '--file', '-'], await tokenEnv());
    expect(JSON.parse(exec.stdout)).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: expect.any(String) } });
  });

  it('when a job revokes at its end, then what it was issued is revoked and the state is gone', async () => {
    const dir = await jobFolder();
    const env = await tokenEnv();
    const issued = await runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(dir, 'kubeconfig')], env);
    expect(issued.code).toBe(0);
    const id = (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { issued: { id: string }[] }).issued[0]!.id;
    const revoked = await runCli(cli, ['revoke', '--token-env', 'JOB_TOKEN', '--state', join(dir, 'state.json')], env);
    expect(revoked.stderr).toContain(`issuance ${id} of web: revoked`);
    expect(revoked.code).toBe(0);
    expect((await issuances()).find((i) => i.id === id)?.state).toBe('revoked');
    await expect(lstat(join(dir, 'state.json'))).rejects.toThrow(/ENOENT/);
    // Revoked already: the state is gone, and saying so is a usage error, not a silent success.
    expect((await runCli(cli, ['revoke', '--token-env', 'JOB_TOKEN', '--state', join(dir, 'state.json')], env)).code).toBe(2);
  });

  describe('as a kubectl exec credential plugin', () => {
    let dir: string;
    let cacheDir: string;
    let tokenFile: string;
    let kubeconfig: string;

    beforeAll(async () => {
      dir = await jobFolder();
      cacheDir = join(dir, 'cache');
      tokenFile = join(dir, 'id-token');
      const admin = (await kubectl(['config', 'view', '--raw', '-o', 'json'])).stdout;
      const cluster = JSON.parse(admin).clusters[0].cluster;
      kubeconfig = join(dir, 'kubeconfig');
      await writeFile(kubeconfig, stringify({
        apiVersion: 'v1', kind: 'Config',
        clusters: [{ name: 'local', cluster }],
        users: [{
          name: 'kubevend',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, interactiveMode: 'Never',
              args: [cli, 'exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', cacheDir],
            },
          },
        }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'kubevend', namespace: ns } }],
        'current-context': 'local',
      }));
    });

    const newJobToken = async () => writeFile(tokenFile, await ci.mint(githubClaims('acme/web')));
    const cacheFile = async () => join(cacheDir, (await readdir(cacheDir)).find((f) => f.endsWith('.json'))!);

    it('when kubectl runs twice within the credential\'s life, then it works both times and the second uses the cache', async () => {
      const before = (await issuances()).length;
      await newJobToken();
      const first = await kubectl(['get', 'serviceaccounts', 'deployer', '-o', 'name'], { kubeconfig });
      expect(first.stdout.trim()).toBe('serviceaccount/deployer');
      // The same token again would be a replay: only the cache can serve the second call.
      const second = await kubectl(['get', 'serviceaccounts', 'deployer', '-o', 'name'], { kubeconfig });
      expect(second.stdout.trim()).toBe('serviceaccount/deployer');
      expect((await issuances()).length).toBe(before + 1);
      const file = await cacheFile();
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    });

    it('when the cached credential is expired, then it is not handed to kubectl and a new one is asked for', async () => {
      const file = await cacheFile();
      const expired = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'expired-token', expirationTimestamp: new Date(Date.now() - 1000).toISOString() } });
      await writeFile(file, expired, { mode: 0o600 });
      await newJobToken();
      const before = (await issuances()).length;
      const get = await kubectl(['get', 'serviceaccounts', 'deployer', '-o', 'name'], { kubeconfig });
      expect(get.code).toBe(0);
      expect((await issuances()).length).toBe(before + 1);
      expect(await readFile(file, 'utf8')).not.toContain('expired-token');
    });

    it('when the cache file is a symlink or readable by others, then it is neither used nor written through', async () => {
      const file = await cacheFile();
      const planted = join(dir, 'planted.json');
      const fake = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'planted-token', expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString() } });
      await writeFile(planted, fake, { mode: 0o600 });
      await import('node:fs/promises').then((fs) => fs.rm(file));
      await symlink(planted, file);
      await newJobToken();
      const viaLink = await runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', cacheDir]);
      expect(viaLink.code).toBe(0);
      expect(viaLink.stderr).toMatch(/is a symlink; it is not followed/);
      expect(viaLink.stdout).not.toContain('planted-token');
      expect(await readFile(planted, 'utf8')).toBe(fake);
      expect((await lstat(file)).isSymbolicLink()).toBe(false);

      await writeFile(file, fake, { mode: 0o644 });
      await import('node:fs/promises').then((fs) => fs.chmod(file, 0o644));
      await newJobToken();
      const shared = await runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', cacheDir]);
      expect(shared.stderr).toMatch(/readable by others; it is not used/);
      expect(shared.stdout).not.toContain('planted-token');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    });

    it('when kubectl runs the plugin several times at once, then one asks with the token and the others read its answer', async () => {
      const shared = join(dir, 'parallel-cache');
      await newJobToken();
      const before = (await issuances()).length;
      const runs = await Promise.all(Array.from({ length: 4 }, () =>
        runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', shared])));
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
      expect(new Set(runs.map((r) => JSON.parse(r.stdout).status.token)).size).toBe(1);
      expect((await issuances()).length).toBe(before + 1);
    });

    it('in GitHub Actions, then the plugin mints an identity token only when the cache is due', async () => {
      const endpoint = await startGithubIdTokenEndpoint(ci, 'acme/web');
      try {
        const env = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '77', GITHUB_JOB: 'deploy', ...endpoint.env };
        const args = ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--cache-dir', join(dir, 'github-cache')];
        const first = await runCli(cli, args, env);
        const second = await runCli(cli, args, env);
        expect(second.stdout).toBe(first.stdout);
        expect(endpoint.audiences).toEqual(['kubevend']);
        const [file] = await readdir(join(dir, 'github-cache'));
        const expiring = JSON.parse(first.stdout);
        expiring.status.expirationTimestamp = new Date(Date.now() + 60_000).toISOString();
        await writeFile(join(dir, 'github-cache', file!), JSON.stringify(expiring), { mode: 0o600 });
        const renewed = await runCli(cli, args, env);
        expect(renewed.code).toBe(0);
        expect(endpoint.audiences).toHaveLength(2);
        expect(JSON.parse(renewed.stdout).status.token).not.toBe(expiring.status.token);
        // The plugin's stdout is kubectl's: no workflow command in it.
        expect(renewed.stdout).not.toContain('::add-mask::');
      } finally {
        await endpoint.close();
      }
    });

    it('when another pipeline\'s job shares the cache folder, then it never gets this job\'s credential', async () => {
      await newJobToken();
      const mine = await runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', cacheDir]);
      const otherToken = join(dir, 'other-id-token');
      await writeFile(otherToken, await ci.mint(githubClaims('acme/api')));
      const other = await runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', otherToken, '--cache-dir', cacheDir]);
      expect(other.code).toBe(0);
      expect(JSON.parse(other.stdout).status.token).not.toBe(JSON.parse(mine.stdout).status.token);
      expect(JSON.parse((await runCli(cli, ['issuances', '--pipeline', 'api', '-o', 'json'], await operator())).stdout)).toHaveLength(1);
    });

    it('when the service refuses, then kubectl gets no credential and the plugin exits 3', async () => {
      await writeFile(tokenFile, await ci.mint(githubClaims('acme/unknown')));
      const refused = await runCli(cli, ['exec-credential', '--url', url, '--cluster', 'local', '--namespace', ns, '--token-file', tokenFile, '--cache-dir', join(dir, 'other-cache')]);
      expect(refused.code).toBe(3);
      expect(refused.stdout).toBe('');
    });
  });
});

describe('the documentation\'s snippets', () => {
  it('when a snippet calls kubevend with curl, then it fails on an error status with the body shown, and retries', async () => {
    const root = join(import.meta.dirname, '..');
    const files = ['README.md', 'helm/kubevend/README.md'];
    for await (const file of glob(['docs/**/*.md', 'examples/**/*'], { cwd: root })) files.push(file);
    const calls: string[] = [];
    for (const file of files) {
      // A command continued with a backslash is one call.
      const text = (await readFile(join(root, file), 'utf8')).replace(/\\\n/g, ' ');
      for (const line of text.split('\n')) if (/\bcurl -/.test(line)) calls.push(`${file}: ${line.trim()}`);
    }
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => !c.includes('--fail-with-body') || !c.includes('--retry'))).toEqual([]);
  });
});
