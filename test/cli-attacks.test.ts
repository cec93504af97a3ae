import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { runCli, serveWithCli } from './helpers/cli.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';

const exec = promisify(execFile);
/** Another local user on a shared runner: the tests run as root, the attacker as this uid. */
const attacker = '4711';
const asAttacker = (command: string[]) => exec('setpriv', [`--reuid=${attacker}`, `--regid=${attacker}`, '--clear-groups', ...command]);

/** A service that answers what the test says: a compromised or impersonated kubevend. */
async function hostileService(answer: (format: string, res: import('node:http').ServerResponse) => void) {
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      if (req.method === 'DELETE') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"revoked","pipeline":"web"}');
      answer((JSON.parse(body || '{}') as { format?: string }).format ?? '', res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls, close: () => new Promise((r) => server.close(r)) };
}

const envelope = (kubeconfig: string, pipeline = 'web') => JSON.stringify({
  pipeline, kubeconfig, expiresAt: new Date(Date.now() + 600_000).toISOString(),
  issuances: [{ issuanceId: '01JTESTISSUANCE0000000000A', cluster: 'local', namespace: 'ns', serviceAccount: 'sa', expiresAt: new Date(Date.now() + 600_000).toISOString() }],
});
const kubeconfigWith = (user: string) => `apiVersion: v1\nkind: Config\nclusters:\n  - name: "local"\n    cluster:\n      server: "https://127.0.0.1:6443"\nusers:\n  - name: "u"\n    user:\n${user}\ncontexts:\n  - name: "local"\n    context:\n      cluster: "local"\n      user: "u"\ncurrent-context: "local"\n`;
const kubeconfigData = Buffer.from(kubeconfigWith('      token: "abc.def"')).toString('base64');
/** The lines a GitHub runner would take as workflow commands, other than the masks kubevend emits. */
const commandsIn = (text: string) => text.split(/\r?\n|\r/).filter((l) => /^\s*::/.test(l) && !l.startsWith('::add-mask::'));

// What the outside review did to the built command, as a real process: each test is the attack.
describe('the kubevend command under attack', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let shared: string;
  let ci: TestIssuer;
  let served: Awaited<ReturnType<typeof serveWithCli>>;
  let ns: string;
  let jobs = 0;

  beforeAll(async () => {
    scratch = await scratchDir();
    // A runner's shared temporary folder: anyone may make things in it, only their own.
    await chmod(scratch.dir, 0o755);
    shared = join(scratch.dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('cli-attacks');
    await createViewerServiceAccount(ns, 'deployer');
    served = await serveWithCli(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile, replayProtection: false }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
    });
  });

  afterAll(async () => {
    await served?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const jobEnv = async (repository = 'acme/web') => ({ KUBEVEND_URL: served.url, JOB_TOKEN: await ci.mint(githubClaims(repository)) });
  const planted = async (name: string) => {
    const dir = join(shared, `${name}-${jobs++}`);
    await asAttacker(['mkdir', '-m', '0777', dir]);
    return dir;
  };

  describe('H3: a co-tenant plants the folders the command writes to', () => {
    it('when another user made the exec-credential cache folder first, then the plugin neither asks nor writes there', async () => {
      const cache = await planted('cache');
      const run = await runCli(served.cli, ['exec-credential', '--token-env', 'JOB_TOKEN', '--cluster', 'local', '--namespace', ns, '--cache-dir', cache], await jobEnv());
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/is not a folder only this user can use/);
      expect(await readdir(cache)).toEqual([]);
    });

    it('when another user may write in the folder of --file, then no kubeconfig is written there', async () => {
      const dir = await planted('out');
      const run = await runCli(served.cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(dir, 'kubeconfig')], await jobEnv());
      expect(run.code).toBe(1);
      expect(await readdir(dir)).toEqual([]);
    });

    it('when another user made the operator\'s login folder first, then login stops before the sign-in starts', async () => {
      const cache = await planted('login');
      const run = await runCli(served.cli, ['login', '--issuer', 'https://idp.example', '--client-id', 'kubevend', '--token-cache-dir', cache]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/is not a folder only this user can use/);
      expect(run.stderr).not.toMatch(/to sign in, open/);
      expect(await readdir(cache)).toEqual([]);
    });

    it('when another user planted the job folder as a symlink to theirs, then nothing is written through it', async () => {
      const theirs = await planted('theirs');
      await asAttacker(['ln', '-s', theirs, join(shared, 'kubevend-job-777')]);
      const run = await runCli(served.cli, ['credentials', '--url', served.url], { GITLAB_CI: 'true', CI_JOB_ID: '777', TMPDIR: shared, KUBEVEND_ID_TOKEN: (await jobEnv()).JOB_TOKEN });
      expect(run.code).toBe(1);
      expect(await readdir(theirs)).toEqual([]);
    });
  });

  describe('M1: the exec-credential cache and revoke', () => {
    const gitlabJob = async (id: string, home: string, repository: string) => ({
      GITLAB_CI: 'true', CI_JOB_ID: id, CI_SERVER_URL: 'https://gitlab.example.com', HOME: home, TMPDIR: join(home, 'tmp'),
      KUBEVEND_URL: served.url, KUBEVEND_ID_TOKEN: await ci.mint(githubClaims(repository)),
    });

    it('when a refused job shares HOME with a granted one, then it is refused, and the granted job\'s revoke revokes what the plugin issued', async () => {
      const home = join(scratch.dir, `home-${jobs++}`);
      await mkdir(join(home, 'tmp'), { recursive: true });
      const plugin = ['exec-credential', '--cluster', 'local', '--namespace', ns];
      const web = await gitlabJob('31001', home, 'acme/web');
      const first = await runCli(served.cli, plugin, web);
      expect(first.code, first.stderr).toBe(0);
      const evil = await runCli(served.cli, plugin, await gitlabJob('31002', home, 'evil/fork'));
      expect(evil.code).toBe(3);
      expect(evil.stdout).toBe('');
      const revoked = await runCli(served.cli, ['revoke'], web);
      expect(revoked.stderr).toMatch(/issuance \w{26} of web: revoked/);
      expect(revoked.code).toBe(0);
    });
  });

  describe('M5: service text is never a workflow command', () => {
    it('when a 503\'s code or a pipeline\'s name holds ::commands::, then no line the runner reads is a command', async () => {
      let busy = true;
      const service = await hostileService((_, res) => {
        if (busy) {
          busy = false;
          return void res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' }).end(JSON.stringify({ code: 'busy\n::stop-commands::pwned\n', detail: 'x\r::warning::detail' }));
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end(envelope(kubeconfigWith('      token: "abc.def"'), 'web\n::warning::pipeline'));
      });
      try {
        const dir = join(scratch.dir, `gh-${jobs++}`);
        await mkdir(dir);
        const run = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN'], { GITHUB_ACTIONS: 'true', RUNNER_TEMP: dir, GITHUB_ENV: join(dir, 'env'), JOB_TOKEN: 'x.y.z' });
        expect(run.code).toBe(0);
        expect(commandsIn(run.stdout)).toEqual([]);
        expect(commandsIn(run.stderr)).toEqual([]);
        // The masks come first: nothing is printed before the runner knows what to hide.
        expect(run.stdout.split('\n').filter(Boolean).every((l) => l.startsWith('::add-mask::'))).toBe(true);
      } finally {
        await service.close();
      }
    });
  });

  describe('M6 and L1: what a hostile answer may set and hide', () => {
    it('when env lines name other variables, then only kubevend\'s own reach later steps', async () => {
      const service = await hostileService((_, res) => res.writeHead(201, { 'content-type': 'text/plain' }).end(
        `KUBEVEND_ISSUANCE_IDS=01JTESTISSUANCE0000000000A\nKUBECONFIG_DATA=${kubeconfigData}\nKUBE_TOKEN=abc.def\nBASH_ENV=/tmp/evil\nLD_PRELOAD=/tmp/evil.so\nPATH=/tmp/evil\nNODE_OPTIONS=--require=/tmp/evil\n`,
      ));
      try {
        const dir = join(scratch.dir, `gh-${jobs++}`);
        await mkdir(dir);
        const run = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN', '--format', 'env'], { GITHUB_ACTIONS: 'true', RUNNER_TEMP: dir, GITHUB_ENV: join(dir, 'env'), JOB_TOKEN: 'x.y.z' });
        expect(run.code).toBe(0);
        const exported = await readFile(join(dir, 'env'), 'utf8');
        expect(exported).toMatch(/^KUBE_TOKEN=abc\.def$/m);
        expect(exported).not.toMatch(/^(BASH_ENV|LD_PRELOAD|PATH|NODE_OPTIONS)=/m);
        expect(await readFile(join(dir, 'kubevend', 'kubevend.env'), 'utf8')).not.toMatch(/evil/);
      } finally {
        await service.close();
      }
    });

    it('when a known variable\'s value is not what kubevend sends, then nothing is written nor exported', async () => {
      const service = await hostileService((_, res) => res.writeHead(201, { 'content-type': 'text/plain' }).end(
        `KUBEVEND_ISSUANCE_IDS=01JTESTISSUANCE0000000000A\nKUBECONFIG_DATA=${kubeconfigData}\nKUBE_TOKEN=abc\nKUBE_NAMESPACE=$(id > /tmp/pwned)\n`,
      ));
      try {
        const run = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN', '--format', 'env', '--file', '-'], { JOB_TOKEN: 'x.y.z' });
        expect(run.code).toBe(4);
        expect(run.stdout).toBe('');
      } finally {
        await service.close();
      }
    });

    it('when the kubeconfig\'s token is not quoted, then it is still masked; when no token can be found, nothing is written', async () => {
      let user = '      token: abc.unquoted-token';
      const service = await hostileService((_, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(envelope(kubeconfigWith(user))));
      try {
        const dir = join(scratch.dir, `gh-${jobs++}`);
        await mkdir(dir);
        const github = { GITHUB_ACTIONS: 'true', RUNNER_TEMP: dir, GITHUB_ENV: join(dir, 'env'), JOB_TOKEN: 'x.y.z' };
        const plain = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN'], github);
        expect(plain.code).toBe(0);
        expect(plain.stdout.split('\n')).toContain('::add-mask::abc.unquoted-token');
        user = '      client-key-data: \'a2V5\'\n      password: p4ss';
        const keyed = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN', '--file', join(dir, 'keyed')], github);
        expect(keyed.stdout.split('\n')).toEqual(expect.arrayContaining(['::add-mask::a2V5', '::add-mask::p4ss']));
        user = '      exec:\n        command: /bin/sh\n        args: ["-c", "curl evil"]';
        const none = await runCli(served.cli, ['credentials', '--url', service.url, '--token-env', 'JOB_TOKEN', '--file', join(dir, 'none')], github);
        expect(none.code).toBe(4);
        expect(await readdir(dir)).not.toContain('none');
      } finally {
        await service.close();
      }
    });
  });

  describe('L2: the identity token never travels in clear', () => {
    it('when --url is http to another host, then nothing is sent unless --insecure-http is given', async () => {
      const env = await jobEnv();
      const clear = await runCli(served.cli, ['credentials', '--url', 'http://10.255.255.1:9', '--deadline', '2s', '--token-env', 'JOB_TOKEN', '--file', '-'], env);
      expect(clear.code).toBe(2);
      expect(clear.stderr).toMatch(/https/);
      const variable = await runCli(served.cli, ['revoke', 'X'], { ...env, KUBEVEND_URL: 'http://kubevend.example', KUBEVEND_DEADLINE: '2s' });
      expect(variable.code).toBe(2);
      // Loopback (this test's server) is allowed; --insecure-http lets a local test reach any host.
      const loopback = await runCli(served.cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', '-', '--format', 'exec-credential', '--cluster', 'local'], env);
      expect(loopback.code, loopback.stderr).toBe(0);
      const optedIn = await runCli(served.cli, ['credentials', '--url', 'http://10.255.255.1:9', '--insecure-http', '--deadline', '1s', '--token-env', 'JOB_TOKEN', '--file', '-'], env);
      expect(optedIn.code).toBe(4);
    });
  });
});
