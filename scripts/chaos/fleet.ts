import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from '../../test/helpers/ci-issuer.ts';
import { startServer, type ServerProcess } from '../../test/helpers/server-process.ts';
import { prepareNamespace, type ClusterAccess } from './cluster.ts';

// kubevend as a CI fleet meets it: real server processes (src/server.ts) on one store, a policy
// file they watch, and jobs that each ask for a credential with a fresh CI token, again and again.

export interface Replica {
  process: ServerProcess;
  url: string;
  pid: number;
}

export interface FleetOptions {
  /** Names the namespace and the installation (KUBEVEND_INSTANCE), so that scenarios never meet. */
  name: string;
  access: ClusterAccess;
  dir: string;
  /** Default: a SQLite file in `sqliteDir` (default `dir`). */
  databaseUrl?: string;
  sqliteDir?: string;
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>;

export async function startFleet(options: FleetOptions) {
  const ci: TestIssuer = await createTestIssuer(options.dir);
  const namespace = await prepareNamespace(options.access, `chaos-${options.name}`);
  const instance = `chaos-${options.name}-${randomBytes(3).toString('hex')}`;
  const policyFile = join(options.dir, `${options.name}-policy.yaml`);
  const policy = (rateLimit: number) => stringify({
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
    clusters: [{ name: 'local', kubeconfig: options.access.kubeconfig }],
    pipelines: [{
      name: 'fleet', issuer: 'ci', match: { repository: 'acme/fleet' },
      grants: [{ cluster: 'local', namespace, serviceAccount: 'deployer', ttl: { default: '15m', max: '1h' } }],
      // A fleet's load, far past the default per-pipeline limit.
      rateLimit: { requests: rateLimit, per: '1m' },
    }],
    operators: [{ name: 'auditors', issuer: 'ci', match: { repository: 'acme/audit' }, role: 'auditor' }],
  });
  await writeFile(policyFile, policy(100_000));
  const keyFile = join(options.dir, `${options.name}-fingerprint.key`);
  await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
  const env = {
    KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_FINGERPRINT_KEY_FILE: keyFile, KUBEVEND_INSTANCE: instance,
    KUBEVEND_DATABASE_URL: options.databaseUrl ?? `sqlite://${join(options.sqliteDir ?? options.dir, `${options.name}.db`)}`,
    // Small, so that what the reaper heals is seen within a scenario.
    KUBEVEND_REAPER_INTERVAL: '2',
  };
  const replicas: Replica[] = [];
  const everStarted: ServerProcess[] = [];

  const launch = async (): Promise<Replica> => {
    const process = startServer(env);
    everStarted.push(process);
    const url = await process.address();
    // pino writes the process id on every line; the first is enough.
    const pid = Number(process.stdout().match(/"pid":(\d+)/)?.[1]);
    return { process, url, pid };
  };

  return {
    ci, namespace, instance, policyFile, replicas, access: options.access,
    policy,
    async add(): Promise<Replica> {
      const replica = await launch();
      replicas.push(replica);
      return replica;
    },
    /** SIGKILL, as the OOM killer or a lost node ends a process: no shutdown at all. */
    async kill9(index: number): Promise<void> {
      const replica = replicas[index]!;
      process.kill(replica.pid, 'SIGKILL');
      await replica.process.code;
    },
    /** A new process in the place of replica `index`, on the same store and policy. */
    async restart(index: number): Promise<Replica> {
      const replica = await launch();
      replicas[index] = replica;
      return replica;
    },
    /** Replaces the policy file as a deploy does (a rename over it); the servers notice by themselves. */
    async replacePolicy(text: string): Promise<void> {
      const next = `${policyFile}.next`;
      await writeFile(next, text);
      await rename(next, policyFile);
    },
    currentPolicy: () => readFile(policyFile, 'utf8'),
    operator: async () => ({ authorization: `Bearer ${await ci.mint(githubClaims('acme/audit'))}` }),
    mintJob: () => ci.mint(githubClaims('acme/fleet')),
    logs: () => everStarted.map((p) => p.stdout() + p.stderr()).join(''),
    async close(): Promise<void> {
      for (const p of everStarted) p.kill();
      await Promise.all(everStarted.map((p) => p.code));
      // Beside the scratch's other files, for CHAOS_KEEP=1.
      await writeFile(join(options.dir, `${options.name}-servers.log`), everStarted.map((p) => p.stdout() + p.stderr()).join(''));
    },
  };
}

/** One credential request as a CI job saw it. */
export interface Answer {
  replica: number;
  token: string;
  sentAt: number;
  answeredAt: number;
  status?: number;
  code?: string;
  issuanceId?: string;
  /** The Kubernetes token of a 201's kubeconfig. */
  kubeToken?: string;
  /** No HTTP answer at all: the connection was refused, reset or timed out. */
  dropped?: string;
}

export interface Load {
  answers: Answer[];
  stop(): Promise<void>;
}

/** `jobs` CI jobs spread over the fleet's replicas, each asking for a credential, pausing `pauseMs`, asking again. */
export function startLoad(fleet: Fleet, { jobs = 4, pauseMs = 40 } = {}): Load {
  const answers: Answer[] = [];
  let stopped = false;
  let turn = 0;
  const ask = async (index: number): Promise<Answer> => {
    const token = await fleet.mintJob();
    const sentAt = Date.now();
    try {
      const res = await fetch(`${fleet.replicas[index]!.url}/v1/credentials`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { code?: string; issuanceId?: string; kubeconfig?: string };
      const kubeToken = body.kubeconfig?.match(/^\s*token: "?([^"\s]+)"?$/m)?.[1];
      return {
        replica: index, token, sentAt, answeredAt: Date.now(), status: res.status,
        ...(body.code ? { code: body.code } : {}), ...(body.issuanceId ? { issuanceId: body.issuanceId } : {}), ...(kubeToken ? { kubeToken } : {}),
      };
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      return { replica: index, token, sentAt, answeredAt: Date.now(), dropped: cause?.code ?? cause?.message ?? (err as Error).name };
    }
  };
  const job = async () => {
    while (!stopped) {
      const answer = await ask(turn++ % fleet.replicas.length);
      answers.push(answer);
      // A job whose connection was refused tries again a moment later, as a CI retry would.
      await sleep(answer.dropped ? 200 : pauseMs);
    }
  };
  const running = Promise.all(Array.from({ length: jobs }, job));
  return { answers, stop: async () => { stopped = true; await running; } };
}
