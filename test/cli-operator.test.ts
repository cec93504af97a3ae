import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { runCli, serveWithCli } from './helpers/cli.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { approveInBrowser, startOperatorIdp, type OperatorIdp } from './helpers/oidc-provider.ts';

// An operator's day with the built command: sign in at the company's OpenID provider with the
// device authorization grant, then read the ledger, suspend and resume, and explain decisions.
describe('kubevend operator commands', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let idp: OperatorIdp;
  let served: Awaited<ReturnType<typeof serveWithCli>>;
  let url: string;
  let cli: string;
  let ns: string;
  let home: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    home = join(scratch.dir, 'home');
    ci = await createTestIssuer(scratch.dir);
    // The ID token lives 70 s: a minute before its end the command renews it with the refresh token.
    idp = await startOperatorIdp({ groups: ['platform-team'], idTokenTtlSeconds: 70 });
    ns = await createNamespace('cli-ops');
    await createViewerServiceAccount(ns, 'deployer');
    served = await serveWithCli(scratch.dir, {
      issuers: [
        { name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile },
        // An operator's sign-in is used for many calls: no replay protection, as for any session token.
        { name: 'corp', issuer: idp.issuer, audiences: [idp.clientId], discovery: true, insecure: true, replayProtection: false },
      ],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
      operators: [{ name: 'platform', issuer: 'corp', match: { groups: 'platform-team' }, role: 'admin' }],
    });
    ({ url, cli } = served);
  });

  afterAll(async () => {
    await served?.close();
    await idp?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const op = (args: string[]) => runCli(cli, args, { HOME: home, KUBEVEND_URL: url });
  const vend = async (repository = 'acme/web', args: string[] = []) =>
    runCli(cli, ['credentials', '--token-env', 'JOB_TOKEN', '--file', join(scratch.dir, `kubeconfig-${Math.random()}`), ...args], { KUBEVEND_URL: url, JOB_TOKEN: await ci.mint(githubClaims(repository)) });

  it('when the operator signs in with the device grant, then the login is cached 0600 and operator commands use it', async () => {
    const child = spawn(process.execPath, [cli, 'login', '--issuer', idp.issuer, '--client-id', idp.clientId, '--scope', 'openid offline_access groups'], {
      env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const prompt = new Promise<string>((resolve) => child.stderr.on('data', (d) => {
      stderr += d;
      const found = /open (http\S+) and confirm the code (\S+)/.exec(stderr);
      if (found) resolve(found[1]!);
    }));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const page = await approveInBrowser(await prompt, 'alice');
    expect(page).toContain('Sign-in Success');
    expect(await exited).toBe(0);
    expect(stderr).toContain(`signed in as alice at ${idp.issuer}`);
    const cacheDir = join(home, '.kube', 'cache', 'kubevend');
    for (const file of await readdir(cacheDir)) expect((await stat(join(cacheDir, file))).mode & 0o777).toBe(0o600);

    expect((await vend()).code).toBe(0);
    const listed = await op(['issuances', '--pipeline', 'web']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID +PIPELINE +CLUSTER +NAMESPACE +SERVICE ACCOUNT +KIND +STATE/);
    expect(listed.stdout).toMatch(new RegExp(`^\\w{26}  web +local +${ns} +deployer +short-lived +active `, 'm'));
  });

  it('when the ledger is read, then the filters apply and each output is what its format says', async () => {
    // A pipeline's own job asking for more than its grant: a denial on record, with the reason.
    expect((await vend('acme/web', ['--namespace', 'elsewhere'])).code).toBe(3);
    const denied = JSON.parse((await op(['audit', '--outcome', 'denied', '--pipeline', 'web', '-o', 'json'])).stdout) as { outcome: string; reasonCode: string }[];
    expect(denied.length).toBe(1);
    expect(denied[0]).toMatchObject({ outcome: 'denied', reasonCode: 'grant_not_allowed' });

    const csv = (await op(['audit', '--pipeline', 'web', '-o', 'csv'])).stdout.split('\r\n');
    expect(csv[0]).toBe('ID,TIME,KIND,OUTCOME,PIPELINE,CLUSTER,NAMESPACE,REASON,ISSUANCE,WHO');
    expect(csv[1]).toMatch(new RegExp(`^\\d+,\\d{4}-[^,]+,issuance,granted,web,local,${ns},,\\w{26},acme/web$`));

    const ndjson = (await op(['audit', '--kind', 'issuance', '-o', 'ndjson'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(ndjson.length).toBeGreaterThanOrEqual(2);
    expect(ndjson.every((r) => r.kind === 'issuance')).toBe(true);

    const bad = await op(['audit', '--outcome', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/400 invalid_request/);
  });

  it('when the ledger is followed, then a record made afterwards is printed as it lands', async () => {
    const child = spawn(process.execPath, [cli, 'audit', '--follow', '--interval', '1', '--pipeline', 'web', '-o', 'ndjson', '--limit', '1'], {
      env: { PATH: process.env.PATH, HOME: home, KUBEVEND_URL: url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    try {
      await waitFor(() => stdout.split('\n').filter(Boolean).length === 1);
      const vended = await vend();
      expect(vended.code).toBe(0);
      await waitFor(() => stdout.split('\n').filter(Boolean).length >= 2);
      const latest = JSON.parse(stdout.trim().split('\n').at(-1)!) as { pipeline: string; kind: string; outcome: string };
      expect(latest).toMatchObject({ pipeline: 'web', kind: 'issuance', outcome: 'granted' });
    } finally {
      child.kill();
    }
  });

  it('when the ledger is verified, then the service walks the chain and the command says it is intact', async () => {
    const result = await op(['audit', 'verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^audit ledger intact: \d+ records verified$/m);
  });

  it('when the store itself is verified, then the command runs the package\'s verifier on it', async () => {
    // The package's layout: the built command beside the ledger's modules.
    const layout = join(scratch.dir, 'package');
    await mkdir(join(layout, 'cli', 'kubevend'), { recursive: true });
    const installed = join(layout, 'cli', 'kubevend', 'kubevend.js');
    await copyFile(cli, installed);
    await symlink(join(import.meta.dirname, '..', 'src', 'ledger'), join(layout, 'ledger'));
    const database = (await readdir(scratch.dir)).find((f) => /^server-.*\.db$/.test(f))!;
    const result = await runCli(installed, ['audit', 'verify', '--database-url', `sqlite://${join(scratch.dir, database)}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^audit ledger intact: \d+ records verified/m);
    expect((await runCli(cli, ['audit', 'verify', '--database-url', 'sqlite:///nowhere.db'])).stderr).toMatch(/needs the kubevend package installed beside the command/);
  });

  it('when a pipeline is suspended, then its jobs are refused until it is resumed', async () => {
    expect((await op(['suspend', 'web'])).stderr).toMatch(/pipeline web suspended; \d+ live credentials revoked/);
    const refused = await vend();
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/403 pipeline_suspended/);
    expect((await op(['issuances', '--pipeline', 'web', '--state', 'active', '-o', 'json'])).stdout.trim()).toBe('[]');
    expect((await op(['resume', 'web'])).code).toBe(0);
    expect((await vend()).code).toBe(0);
    const again = await op(['resume', 'web']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/404 suspension_not_found/);
  });

  it('when an operator revokes an issuance by its id, then it is revoked', async () => {
    expect((await vend()).code).toBe(0);
    const [live] = JSON.parse((await op(['issuances', '--pipeline', 'web', '--state', 'active', '-o', 'json'])).stdout) as { id: string }[];
    const revoked = await op(['revoke', '--operator', live!.id]);
    expect(revoked.stderr).toContain(`issuance ${live!.id} of web: revoked`);
    expect(revoked.code).toBe(0);
    const unknown = await op(['revoke', '--operator', '0'.repeat(26)]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/404 issuance_not_found/);
  });

  it('when a decision is explained for given claims, then the command says which pipeline and why', async () => {
    const granted = await op(['explain', '--issuer-name', 'ci', '--claims', JSON.stringify(githubClaims('acme/web'))]);
    expect(granted.stdout).toMatch(/^GRANTED for ci repo:acme\/web/);
    expect(granted.stdout).toMatch(/^ {2}web: granted$/m);
    const denied = await op(['explain', '--issuer-name', 'ci', '--claims', JSON.stringify(githubClaims('acme/api'))]);
    expect(denied.stdout).toMatch(/^DENIED/);
    expect(denied.stdout).toMatch(/web: match \(repository is acme\/api, wants acme\/web\)/);
  });

  it('when the cached ID token is about to expire, then it is renewed with the refresh token', async () => {
    // 70 s of life and renewal a minute before the end: ten seconds after sign-in it is due.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const cacheDir = join(home, '.kube', 'cache', 'kubevend');
    const before = await readdir(cacheDir).then((files) => Promise.all(files.map((f) => stat(join(cacheDir, f)).then((s) => s.mtimeMs))));
    const listed = await op(['issuances', '--pipeline', 'web', '-o', 'json']);
    expect(listed.code).toBe(0);
    const after = await readdir(cacheDir).then((files) => Promise.all(files.map((f) => stat(join(cacheDir, f)).then((s) => s.mtimeMs))));
    expect(Math.max(...after)).toBeGreaterThan(Math.max(...before));
  });

  it('when nobody has signed in, then operator commands say how to and exit 2', async () => {
    const result = await runCli(cli, ['issuances'], { HOME: join(scratch.dir, 'nobody'), KUBEVEND_URL: url });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not signed in: run `kubevend login/);
  });
});

async function waitFor(condition: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
