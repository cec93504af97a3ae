import { request } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { CiIssuer } from './ci-tokens.ts';
import { prepareNamespace, scratch, type BenchContext } from './context.ts';
import { startNode, type Child } from './process.ts';
import { freePorts } from './services.ts';

// kubevend processes of the run: the real server or a bench entry, built (ctx.built), configured
// by environment as in production, each with a SQLite file (or database) of its own.

const root = join(import.meta.dirname, '..', '..');

/**
 * The bench pipeline is the last of twenty, as in a policy that serves a few teams: every request
 * is matched against all of them. Its grant allows both token kinds, and its rate limit no run reaches.
 * Scenarios of several pipelines name them (`pipelines`): each matches the repository `acme/NAME`
 * (ci-tokens.ts `claimsFor`) and grants the same namespace.
 */
export async function writePolicy(dir: string, ci: CiIssuer, kubeconfig: string, namespace: string, pipelines: string[] = ['web']): Promise<string> {
  const others = Array.from({ length: 19 }, (_, i) => ({
    name: `team-${i}`, issuer: 'ci', match: { repository: `acme/team-${i}-*` }, conditions: { ref: 'refs/heads/main' },
    grants: [{ cluster: 'local', namespace: `team-${i}`, serviceAccount: 'deployer' }],
  }));
  const file = join(dir, `policy-${namespace}.yaml`);
  await writeFile(file, stringify({
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile, algorithms: ['RS256'] }],
    clusters: [{ name: 'local', kubeconfig }],
    pipelines: [...others, ...pipelines.map((name) => ({
      name, issuer: 'ci', match: { repository: `acme/${name}` }, conditions: { ref: 'refs/heads/main' },
      grants: [{ cluster: 'local', namespace, serviceAccount: 'deployer', kinds: ['short-lived', 'durable'] }],
      // The load is the point here: far above any run's rate (the default is 60 a minute).
      rateLimit: { requests: 1_000_000_000, per: 1 },
    }))],
    operators: [{ name: 'platform', issuer: 'ci', match: { repository: 'acme/platform-ops' }, role: 'auditor' }],
  }));
  return file;
}

/**
 * The Node options `npm start` runs kubevend with (package.json's start script, as the Dockerfile's
 * CMD), so that built entries run as production does; BENCH_NODE_ARGS (space-separated) replaces
 * them, to compare settings.
 */
export function launchArgs(): string[] {
  if (process.env.BENCH_NODE_ARGS !== undefined) return process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(' ');
  if (command !== 'node') throw new Error(`npm start runs ${command}, not node: the bench cannot run kubevend as it does`);
  return args.filter((arg) => arg.startsWith('-'));
}

export interface KubevendProcess {
  url: string;
  child: Child;
  /** From spawn to the first 200 from /readyz. */
  readyMs: number;
}

/**
 * A kubevend server runs as an installation that holds its ledger to account: checkpoints signed,
 * and every record to a fail-closed file sink (the sink that makes each issuance wait for a write).
 * BENCH_AUDIT=0 runs without either; `audit: false` runs one server without, to compare in the same run.
 */
function auditEnv(env: Record<string, string>, dir: string, port: number, audit: boolean): Record<string, string> {
  if (!audit || process.env.BENCH_AUDIT === '0' || !env.KUBEVEND_POLICY_FILE) return {};
  const keyFile = join(dir, 'audit-signing-key.pem');
  if (!existsSync(keyFile)) writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { KUBEVEND_AUDIT_SIGNING_KEY_FILE: keyFile, KUBEVEND_AUDIT_SINK_FILE: join(dir, `audit-${port}.ndjson`), KUBEVEND_AUDIT_SINK_FILE_MODE: 'fail-closed' };
}

/** Starts kubevend (`entry`) with this environment and waits until /readyz answers 200. */
export async function startKubevend(entry: string, env: Record<string, string>, logFile: string, options: { ipc?: boolean; profileDir?: string; nodeArgs?: string[]; audit?: boolean } = {}): Promise<KubevendProcess> {
  const [port] = await freePorts(1);
  const profileDir = options.profileDir ?? process.env.BENCH_PROFILE;
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = startNode(entry, [], {
    env: { KUBEVEND_HOST: '127.0.0.1', KUBEVEND_PORT: `${port}`, KUBEVEND_REAPER_INTERVAL: '0', KUBEVEND_LOG_LEVEL: 'info', ...auditEnv(env, dirname(logFile), port!, options.audit ?? true), ...env },
    stdoutFile: logFile,
    ...(options.ipc ? { ipc: true } : {}),
    // BENCH_PROFILE=DIR: a CPU profile of every server process, for bench/profile/top-frames.ts.
    nodeArgs: [...(options.nodeArgs ?? launchArgs()), ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])],
  });
  let exited = false;
  void child.exited.then(() => (exited = true));
  const deadline = started + 30_000;
  while (!(await readyz(url))) {
    if (exited || performance.now() > deadline) {
      await child.stop();
      throw new Error(`kubevend (${entry}) did not become ready: ${child.stderr().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { url, child, readyMs: performance.now() - started };
}

function readyz(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * The real server (built, as `npm start` runs it) issuing into a namespace of its own,
 * `bench-NAME`, with a SQLite file and a log named after it; `pipelines` as writePolicy takes them,
 * `env` beside the bench's own settings (startKubevend).
 */
export async function startRealServer(ctx: BenchContext, name: string, options: { pipelines?: string[]; env?: Record<string, string> } = {}): Promise<{ kubevend: KubevendProcess; namespace: string }> {
  const namespace = `bench-${name}`;
  await prepareNamespace(ctx, namespace);
  const policy = await writePolicy(ctx.dir, ctx.ci, ctx.kubeconfig, namespace, options.pipelines);
  const kubevend = await startKubevend(ctx.built.server, {
    KUBEVEND_POLICY_FILE: policy, KUBEVEND_DATABASE_URL: `sqlite://${scratch(ctx, `${name}.db`)}`, ...options.env,
  }, scratch(ctx, `${name}.log`));
  return { kubevend, namespace };
}
