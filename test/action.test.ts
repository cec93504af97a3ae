import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { actionBuild, bundleCli } from '../scripts/bundle.ts';
import { createTestIssuer, type TestIssuer } from './helpers/ci-issuer.ts';
import { runCli, serveWithCli, startGithubIdTokenEndpoint, type GithubIdTokenEndpoint } from './helpers/cli.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces, kubectl } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { gitlabClaims } from './helpers/oidc-issuer.ts';
import { refusedWithin, tokenOf } from './helpers/vended.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

/** A runner's `name=value` / `name<<DELIMITER` file (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE) as a map. */
function runnerFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      values[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      values[lines[i]!.slice(0, lines[i]!.indexOf('='))] = lines[i]!.slice(lines[i]!.indexOf('=') + 1);
    }
  }
  return values;
}

// The GitHub Action and the GitLab component, run as their runners run them: the steps are read
// from action.yml and templates/kubevend.yml, not restated here.
describe('the GitHub Action and the GitLab CI/CD component', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let served: Awaited<ReturnType<typeof serveWithCli>>;
  let url: string;
  let ns: string;
  let cli: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('action');
    await createViewerServiceAccount(ns, 'deployer');
    const grants = [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }];
    served = await serveWithCli(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend', 'https://kubevend.example'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [
        { name: 'github-web', issuer: 'ci', match: { repository: 'acme/web' }, grants },
        { name: 'gitlab-web', issuer: 'ci', match: { project_path: 'acme/web' }, conditions: { ref_protected: 'true' }, grants },
      ],
    });
    ({ url, cli } = served);
  });

  afterAll(async () => {
    await served?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  it('when the Action\'s code is built from the source, then it is the committed action/index.js', async () => {
    const fresh = join(scratch.dir, 'action-index.js');
    await bundleCli(fresh, actionBuild.entry);
    expect(await readFile(actionBuild.file, 'utf8'), 'action/index.js is stale: run npm run build').toBe(await readFile(fresh, 'utf8'));
  });

  describe('GitHub Actions', () => {
    let endpoint: GithubIdTokenEndpoint;
    const action = () => readFile(join(root, 'action.yml'), 'utf8').then((t) => parse(t) as {
      inputs: Record<string, { default?: string; required?: boolean }>; runs: { using: string; main: string; post: string; 'post-if': string };
    });

    beforeAll(async () => {
      endpoint = await startGithubIdTokenEndpoint(ci, 'acme/web');
    });
    afterAll(() => endpoint?.close());

    /** One step of the action as the runner runs it: inputs as INPUT_<NAME>, defaults filled in. */
    async function runStep(script: string, runner: Record<string, string>, inputs: Record<string, string>, state: Record<string, string> = {}) {
      const { inputs: declared } = await action();
      const env: Record<string, string> = { ...runner };
      for (const [name, spec] of Object.entries(declared)) {
        const value = inputs[name] ?? spec.default;
        if (spec.required && value === undefined) throw new Error(`input ${name} is required`);
        if (value !== undefined) env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] = value;
      }
      for (const [name, value] of Object.entries(state)) env[`STATE_${name}`] = value;
      return runCli(join(root, script), [], env);
    }

    async function runner(): Promise<Record<string, string>> {
      const temp = join(scratch.dir, `runner-${Math.random().toString(16).slice(2)}`);
      await mkdir(temp, { recursive: true });
      const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state' } as const;
      for (const name of Object.values(files)) await writeFile(join(temp, name), '');
      return {
        CI: 'true', GITHUB_ACTIONS: 'true', RUNNER_TEMP: temp, GITHUB_WORKSPACE: temp, GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '1234567890',
        ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, join(temp, v)])), ...endpoint.env,
      };
    }

    it('when a job uses the Action, then later steps have a working KUBECONFIG, the token is masked, and the post step revokes it', async () => {
      const { runs } = await action();
      expect(runs).toMatchObject({ using: 'node24', 'post-if': 'always()' });
      const env = await runner();
      const main = await runStep(runs.main, env, { url });
      expect(main.code, main.stdout).toBe(0);
      expect(endpoint.audiences.at(-1)).toBe('kubevend');

      const exported = runnerFile(await readFile(env.GITHUB_ENV!, 'utf8'));
      const outputs = runnerFile(await readFile(env.GITHUB_OUTPUT!, 'utf8'));
      expect(outputs.kubeconfig).toBe(exported.KUBECONFIG);
      expect(outputs['issuance-ids']).toMatch(/^\w{26}$/);
      const token = tokenOf(await readFile(exported.KUBECONFIG!, 'utf8'));
      const lines = main.stdout.split('\n');
      expect(lines).toContain(`::add-mask::${token}`);
      expect(lines.filter((l) => l.includes(token))).toHaveLength(1);

      // The job's own step, with the environment the runner gives later steps.
      const step = await kubectl(['get', 'serviceaccount', 'deployer', '-o', 'name'], { kubeconfig: exported.KUBECONFIG! });
      expect(step.stdout.trim()).toBe('serviceaccount/deployer');

      const state = runnerFile(await readFile(env.GITHUB_STATE!, 'utf8'));
      expect(state.isPost).toBe('true');
      const post = await runStep(runs.post, { ...env, ...exported }, { url }, state);
      expect(post.code, post.stdout).toBe(0);
      expect(post.stdout).toContain(`issuance ${outputs['issuance-ids']} of github-web: revoked`);
      expect(await refusedWithin(exported.KUBECONFIG!, 20_000)).toBe(true);
    });

    it('when kubevend refuses, then the step fails with an error annotation and the post step has nothing to revoke', async () => {
      const { runs } = await action();
      const env = await runner();
      const main = await runStep(runs.main, env, { url, namespace: 'kube-system' });
      expect(main.code).toBe(3);
      expect(main.stdout).toMatch(/^::error title=kubevend::403 grant_not_allowed: .* \(request id [\w-]+\)$/m);
      expect(await readFile(env.GITHUB_ENV!, 'utf8')).toBe('');
      const state = runnerFile(await readFile(env.GITHUB_STATE!, 'utf8'));
      expect(state).toEqual({ isPost: 'true' });
      const post = await runStep(runs.post, env, { url }, state);
      expect(post.code).toBe(0);
    });

    it('with format env, then later steps get KUBE_SERVER, KUBE_TOKEN and KUBECONFIG_DATA, each secret masked', async () => {
      const { runs } = await action();
      const env = await runner();
      const main = await runStep(runs.main, env, { url, format: 'env' });
      expect(main.code, main.stdout).toBe(0);
      const exported = runnerFile(await readFile(env.GITHUB_ENV!, 'utf8'));
      expect(exported).toMatchObject({ KUBE_NAMESPACE: ns, KUBE_SERVER: expect.stringMatching(/^https:/) });
      expect(main.stdout.split('\n')).toEqual(expect.arrayContaining([`::add-mask::${exported.KUBE_TOKEN}`, `::add-mask::${exported.KUBECONFIG_DATA}`]));
      const step = await kubectl(['get', 'serviceaccount', 'deployer', '-o', 'name', '--server', exported.KUBE_SERVER!, '--token', exported.KUBE_TOKEN!, '--insecure-skip-tls-verify', '-n', exported.KUBE_NAMESPACE!]);
      expect(step.stdout.trim()).toBe('serviceaccount/deployer');
    });

    it('when a job uses the Action twice, then each post step revokes what its own step issued', async () => {
      const { runs } = await action();
      const env = await runner();
      const steps = [];
      for (const n of [1, 2]) {
        // The runner gives every step a GITHUB_STATE of its own and hands it back to that step's post.
        const stepState = join(env.RUNNER_TEMP!, `state-${n}`);
        await writeFile(stepState, '');
        const main = await runStep(runs.main, { ...env, GITHUB_STATE: stepState }, { url });
        expect(main.code, main.stdout).toBe(0);
        steps.push(runnerFile(await readFile(stepState, 'utf8')));
      }
      const ids = runnerFile(await readFile(env.GITHUB_OUTPUT!, 'utf8'));
      expect(ids['issuance-ids']).toMatch(/^\w{26}$/);
      const revoked: string[] = [];
      for (const state of steps.reverse()) {
        const post = await runStep(runs.post, env, { url }, state);
        expect(post.code, post.stdout).toBe(0);
        revoked.push(...[...post.stdout.matchAll(/issuance (\w{26}) of github-web: revoked/g)].map((m) => m[1]!));
      }
      expect(new Set(revoked).size).toBe(2);
    });

    it('when kubevend\'s answers hold workflow commands, then the runner sees none of them', async () => {
      const { runs } = await action();
      const hostile = createServer((_, res) => void res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' })
        .end(JSON.stringify({ code: 'busy\n::stop-commands::pwned\n', detail: 'down\n::warning::x' })));
      await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
      try {
        const main = await runStep(runs.main, await runner(), { url: `http://127.0.0.1:${(hostile.address() as { port: number }).port}`, deadline: '1s' });
        expect(main.code).toBe(4);
        const commands = main.stdout.split(/\r?\n|\r/).filter((l) => /^\s*::/.test(l) && !/^::(add-mask|error title=kubevend)::/.test(l));
        expect(commands).toEqual([]);
      } finally {
        await new Promise((resolve) => hostile.close(resolve));
      }
    });

    it('when the url input is http to another host, then the step fails before sending the token, unless insecure-http is set', async () => {
      const { runs } = await action();
      const main = await runStep(runs.main, await runner(), { url: 'http://kubevend.example', deadline: '2s' });
      expect(main.code).toBe(2);
      expect(main.stdout).toMatch(/^::error title=kubevend::.*https/m);
      const optedIn = await runStep(runs.main, await runner(), { url: 'http://10.255.255.1:9', 'insecure-http': 'true', deadline: '1s' });
      expect(optedIn.code).toBe(4);
    });
  });

  describe('GitLab CI', () => {
    interface Job { id_tokens: Record<string, { aud: string }>; variables: Record<string, string>; before_script: string[]; after_script: string[] }

    /** The component included with `inputs`, as GitLab interpolates it: `$[[ inputs.x ]]` replaced, defaults filled in. */
    async function component(inputs: Record<string, string>): Promise<Job> {
      const [header, body] = parseAllDocuments(await readFile(join(root, 'templates', 'kubevend.yml'), 'utf8')).map((d) => d.toJS());
      const spec = header.spec.inputs as Record<string, { default?: string; options?: string[] }>;
      const text = stringify(body).replace(/\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g, (_, name: string) => {
        const value = inputs[name] ?? spec[name]?.default;
        if (value === undefined) throw new Error(`input ${name} is required`);
        if (spec[name]?.options && !spec[name].options.includes(value)) throw new Error(`input ${name} must be one of ${spec[name].options.join(', ')}`);
        return value;
      });
      return (parse(text) as Record<string, Job>)['.kubevend']!;
    }

    /** A job that extends the component's `.kubevend`, run as a runner does: before_script and script in one shell, after_script in another. */
    async function runJob(job: Job, script: string[], claims = {}) {
      const jobId = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
      const dir = join(scratch.dir, `gitlab-${jobId}`);
      const bin = join(dir, 'bin');
      await mkdir(bin, { recursive: true });
      // The job's image has the command and kubectl on its PATH.
      await writeFile(join(bin, 'kubevend'), `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`);
      await writeFile(join(bin, 'kubectl'), `#!/bin/sh\nexec '${inject('kubectl')}' "$@"\n`);
      await Promise.all(['kubevend', 'kubectl'].map((f) => chmod(join(bin, f), 0o755)));
      const [[tokenVariable, { aud }]] = Object.entries(job.id_tokens) as [[string, { aud: string }]];
      const env = {
        PATH: `${bin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir, CI: 'true', GITLAB_CI: 'true', CI_JOB_ID: jobId, CI_PROJECT_DIR: dir,
        CI_PROJECT_PATH: 'acme/web', CI_SERVER_URL: 'https://gitlab.example.com', CI_COMMIT_REF_NAME: 'main',
        ...job.variables, [tokenVariable]: await ci.mint({ ...gitlabClaims('acme/web', claims), aud }),
      };
      const shell = async (lines: string[]) => run('bash', ['-ec', lines.join('\n')], { env, cwd: dir }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
      );
      return { dir, main: await shell([...job.before_script, ...script]), after: await shell(job.after_script) };
    }

    it('when a job extends the component, then its script has a working KUBECONFIG and after_script revokes it', async () => {
      const job = await component({ url, audience: 'https://kubevend.example', namespace: ns });
      const { dir, main, after } = await runJob(job, ['kubectl get serviceaccount deployer -o name', 'cp "$KUBECONFIG" ./used-kubeconfig']);
      expect(main.stderr).toMatch(/pipeline gitlab-web granted local\//);
      expect(main.code).toBe(0);
      expect(main.stdout.trim()).toBe('serviceaccount/deployer');
      expect(after.stderr).toMatch(/issuance \w{26} of gitlab-web: revoked/);
      expect(await refusedWithin(join(dir, 'used-kubeconfig'), 20_000)).toBe(true);
    });

    it('when the job is refused, then its script does not run and the job fails with the refused exit code', async () => {
      const job = await component({ url, audience: 'https://kubevend.example' });
      const { main } = await runJob(job, ['echo the script ran'], { ref_protected: 'false' });
      expect(main.code).toBe(3);
      expect(main.stdout).not.toContain('the script ran');
      expect(main.stderr).toMatch(/403 conditions_not_met/);
    });

    const kubeconfigData = Buffer.from('apiVersion: v1\nkind: Config\nusers:\n  - name: "u"\n    user:\n      token: "abc"\n').toString('base64');
    it('with format env, when kubevend\'s answer holds shell, then nothing of it runs in the job', async () => {
      const hostile = createServer((_, res) => void res.writeHead(201, { 'content-type': 'text/plain' })
        .end(`KUBEVEND_ISSUANCE_IDS=01JTESTISSUANCE0000000000A\nKUBECONFIG_DATA=${kubeconfigData}\nKUBE_TOKEN=abc\nPWNED=$(touch pwned)\nBASH_ENV=./pwned-env\n`));
      await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
      try {
        const job = await component({ url: `http://127.0.0.1:${(hostile.address() as { port: number }).port}`, audience: 'https://kubevend.example', format: 'env' });
        const { dir, main } = await runJob(job, ['echo "token=$KUBE_TOKEN bash_env=${BASH_ENV:-}"']);
        expect(main.code, main.stderr).toBe(0);
        expect(main.stdout.trim()).toBe('token=abc bash_env=');
        await expect(readFile(join(dir, 'pwned'))).rejects.toThrow(/ENOENT/);
      } finally {
        await new Promise((resolve) => hostile.close(resolve));
      }
    });

    it('with format env, then the script has KUBE_TOKEN and KUBE_SERVER in its environment', async () => {
      const job = await component({ url, audience: 'https://kubevend.example', format: 'env', namespace: ns });
      const { main } = await runJob(job, ['kubectl get serviceaccount deployer -o name --server "$KUBE_SERVER" --token "$KUBE_TOKEN" --insecure-skip-tls-verify -n "$KUBE_NAMESPACE"']);
      expect(main.code, main.stderr).toBe(0);
      expect(main.stdout.trim()).toBe('serviceaccount/deployer');
    });
  });
});
