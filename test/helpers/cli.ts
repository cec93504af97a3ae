import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bundleCli } from '../../scripts/bundle.ts';
import { githubClaims, type TestIssuer } from './ci-issuer.ts';
import { startServer } from './server-process.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  ms: number;
}

/** The real server in a process of its own with this policy (written to `dir`), and the command built beside it. */
export async function serveWithCli(dir: string, policy: unknown): Promise<{ url: string; cli: string; close: () => Promise<void> }> {
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  const server = startServer({ KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_REAPER_INTERVAL: '0' });
  const [url, cli] = await Promise.all([server.address(), buildCli(dir)]);
  return {
    url, cli,
    close: async () => {
      server.kill();
      await server.code;
    },
  };
}

/** Builds the `kubevend` command as `npm run build` does, into `dir`; answers the file. */
export async function buildCli(dir: string): Promise<string> {
  const file = join(dir, 'kubevend.js');
  await bundleCli(file);
  return file;
}

/**
 * Runs a built command as a process of its own with exactly `env` (and PATH, HOME): nothing of the
 * test runner's environment, such as a CI system's variables, leaks in.
 */
export function runCli(file: string, args: string[], env: Record<string, string> = {}, options: { input?: string; node?: string } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(options.node ?? process.execPath, [file, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(options.input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

export interface GithubIdTokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN, as the runner sets them. */
  env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** The audiences asked for, one per token minted. */
  audiences: string[];
  close(): Promise<void>;
}

/**
 * A stand-in for GitHub's ID token endpoint: like GitHub's, it takes the runner's request token as a
 * bearer, mints a new token per request for the `audience` parameter, and answers `{"value": ...}`.
 */
export async function startGithubIdTokenEndpoint(ci: TestIssuer, repository: string, claims: Record<string, unknown> = {}): Promise<GithubIdTokenEndpoint> {
  const requestToken = randomUUID();
  const audiences: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization !== `bearer ${requestToken}` && req.headers.authorization !== `Bearer ${requestToken}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    audiences.push(audience);
    void ci.mint(githubClaims(repository, { aud: audience, ...claims })).then((value) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    // GitHub's URL already carries a query (api-version), so the audience is appended with `&`.
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/_apis/distributedtask/hubs/build/plans/p/jobs/j/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    audiences,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
