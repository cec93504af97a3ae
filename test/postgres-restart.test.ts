import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startOwnPostgres, type OwnPostgres } from './helpers/own-postgres.ts';
import { startServer, type ServerProcess } from './helpers/server-process.ts';
import { openStore, postgresConnectTimeoutMs } from '../src/store/open.ts';

/** One credential request as a CI job saw it. */
interface Answer {
  replica: 'a' | 'b';
  sentAt: number;
  status?: number;
  contentType?: string;
  code?: string;
  issuanceId?: string;
  /** The request got no HTTP answer at all (the connection was dropped or refused). */
  dropped?: string;
}

// A routine database restart (a patch, a failover) under steady load: the replicas ride it out.
describe('two replicas while their PostgreSQL restarts', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let postgres: OwnPostgres;
  let ns: string;
  let replicas: Record<'a' | 'b', { process: ServerProcess; url: string }>;
  // The database URL carries a password (trust authentication ignores it): it must never be logged.
  const password = `pw-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('pg-restart');
    await createViewerServiceAccount(ns, 'deployer');
    postgres = await startOwnPostgres();
    const databaseUrl = new URL(postgres.url);
    databaseUrl.password = password;
    const policyFile = join(scratch.dir, 'policy.yaml');
    await writeFile(policyFile, stringify({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }],
        // The load below is a fleet's, far past the default per-pipeline limit.
        rateLimit: { requests: 100_000, per: '1m' } }],
      operators: [{ name: 'auditors', issuer: 'ci', match: { repository: 'acme/audit' }, role: 'auditor' }],
    }));
    const keyFile = join(scratch.dir, 'fingerprint.key');
    await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    // The reaper runs too, as in production, under an installation name of this test's own so that
    // its sweep never touches another test's objects.
    const env = {
      KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_DATABASE_URL: databaseUrl.toString(), KUBEVEND_FINGERPRINT_KEY_FILE: keyFile,
      KUBEVEND_REAPER_INTERVAL: '1', KUBEVEND_INSTANCE: `pg-restart-${randomBytes(3).toString('hex')}`,
    };
    const a = startServer(env);
    const b = startServer(env);
    const [urlA, urlB] = await Promise.all([a.address(), b.address()]);
    replicas = { a: { process: a, url: urlA }, b: { process: b, url: urlB } };
  });

  afterAll(async () => {
    for (const replica of Object.values(replicas ?? {})) replica.process.kill();
    await Promise.all(Object.values(replicas ?? {}).map((replica) => replica.process.code));
    await postgres?.stop();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  async function vend(replica: 'a' | 'b'): Promise<Answer> {
    const sentAt = Date.now();
    const token = await ci.mint(githubClaims('acme/web'));
    try {
      const res = await fetch(`${replicas[replica].url}/v1/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(20_000),
      });
      const body = (await res.json()) as { code?: string; issuanceId?: string };
      return {
        replica, sentAt, status: res.status, contentType: res.headers.get('content-type') ?? '',
        ...(body.code ? { code: body.code } : {}), ...(body.issuanceId ? { issuanceId: body.issuanceId } : {}),
      };
    } catch (err) {
      return { replica, sentAt, dropped: String((err as Error).cause ?? err) };
    }
  }

  /** Eight CI jobs per replica, each asking for a credential every 10 ms until stopped. */
  function trickle() {
    const answers: Answer[] = [];
    let stopped = false;
    const job = async (replica: 'a' | 'b') => {
      while (!stopped) {
        answers.push(await vend(replica));
        await sleep(10);
      }
    };
    const jobs = Promise.all((['a', 'b'] as const).flatMap((replica) => Array.from({ length: 8 }, () => job(replica))));
    return { answers, stop: async () => { stopped = true; await jobs; } };
  }

  /** Waits until `done` holds, checking every 50 ms; false if it still does not after `ms`. */
  async function within(ms: number, done: () => boolean): Promise<boolean> {
    for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) if (done()) return true;
    return done();
  }

  const operator = async () => ({ authorization: `Bearer ${await ci.mint(githubClaims('acme/audit'))}` });

  it('when PostgreSQL is restarted under load, then both replicas stay up, answer 201 or 503 store_unavailable meanwhile, and issue again by themselves', async () => {
    const load = trickle();
    const issued = (replica: 'a' | 'b', after: number) => load.answers.some((x) => x.replica === replica && x.status === 201 && x.sentAt > after);
    expect(await within(15_000, () => issued('a', 0) && issued('b', 0))).toBe(true);

    await postgres.restart();
    const restarted = Date.now();
    const resumed = await within(20_000, () => issued('a', restarted) && issued('b', restarted));
    // A while longer under load: a process that lost a connection badly may end only moments later.
    await sleep(2_000);
    await load.stop();

    // Still running: a routine restart is not an outage of kubevend.
    for (const replica of Object.values(replicas)) expect(await Promise.race([replica.process.code, Promise.resolve('running')])).toBe('running');
    // Back by itself, without a restart of kubevend.
    expect(resumed).toBe(true);
    // Fail closed, never a dropped connection or a 500: every answer is a credential or a 503 to retry.
    const unexpected = load.answers.filter((x) => !(x.status === 201 || (x.status === 503 && x.code === 'store_unavailable' && x.contentType?.startsWith('application/problem+json'))));
    expect(unexpected).toEqual([]);

    // Every credential handed out is on record as active, and the ledger's chain holds.
    const credentials = load.answers.filter((x) => x.status === 201);
    for (const { issuanceId } of credentials) {
      const res = await fetch(`${replicas.a.url}/v1/issuances/${issuanceId}`, { headers: await operator() });
      expect({ issuanceId, state: ((await res.json()) as { state?: string }).state }).toEqual({ issuanceId, state: 'active' });
    }
    const verified = (await (await fetch(`${replicas.b.url}/v1/audit/verify`, { headers: await operator() })).json()) as { ok: boolean; count: number };
    expect(verified.ok).toBe(true);
    expect(verified.count).toBeGreaterThanOrEqual(credentials.length);

    // The operator reads, at warn, that the database went away, and never its password.
    for (const replica of Object.values(replicas)) {
      const lines = replica.process.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.filter((line) => line.msg.includes('database connection was lost')).map((line) => line.level)).toContain(40);
      expect(replica.process.stdout() + replica.process.stderr()).not.toContain(password);
    }
  });

  it('when the database accepts connections but never answers them, then the store gives up within its connect timeout', async () => {
    const thaw = await postgres.freeze();
    try {
      const opening = openStore(postgres.url).then(() => 'opened', (err: Error) => err.message);
      const outcome = await Promise.race([opening, sleep(postgresConnectTimeoutMs + 2_000).then(() => 'still waiting')]);
      expect(outcome).toMatch(/timeout/);
    } finally {
      thaw();
    }
  });
});
