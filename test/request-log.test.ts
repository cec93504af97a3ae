import { symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { bundle } from '../scripts/bundle.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { hangingApiServer, type HangingProxy } from './helpers/hanging-proxy.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startServer, type ServerProcess } from './helpers/server-process.ts';

type Line = Record<string, unknown>;

// The `answered: false` mark is how an operator finds a credential that never reached its caller:
// checked where it was seen wrong, in the built server's log, over real connections.
describe('the request log of the built server', () => {
  const root = join(import.meta.dirname, '..');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let ns: string;
  let stuck: HangingProxy;
  let server: ServerProcess;
  let url: string;
  let database: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('request-log');
    await createViewerServiceAccount(ns, 'deployer');
    // A second cluster whose API server hangs: a credential asked of it is held until it is reset.
    const hung = await hangingApiServer(scratch.dir, 'stuck');
    stuck = hung.proxy;
    stuck.hang();
    // Built as `npm run build` builds it, into the scratch directory beside a link to node_modules.
    await symlink(join(root, 'node_modules'), join(scratch.dir, 'node_modules'));
    await bundle(join(scratch.dir, 'server'));
    const policyFile = join(scratch.dir, 'policy.yaml');
    await writeFile(policyFile, stringify({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }, { name: 'stuck', kubeconfig: hung.kubeconfig }],
      pipelines: [
        { name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] },
        { name: 'stuck', issuer: 'ci', match: { repository: 'acme/stuck' }, grants: [{ cluster: 'stuck', namespace: ns, serviceAccount: 'deployer' }] },
      ],
    }));
    database = join(scratch.dir, 'kubevend.db');
    server = startServer(
      { KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_LOG_LEVEL: 'debug', KUBEVEND_DATABASE_URL: `sqlite://${database}` },
      { entry: join(scratch.dir, 'server', 'server.js') },
    );
    url = await server.address();
  });

  afterAll(async () => {
    server?.kill();
    await server?.code;
    await stuck?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const lines = (): Line[] => server.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  /** The line that tells how a request ended (info or error), once written. */
  async function outcomeOf(found: (line: Line) => boolean): Promise<Line> {
    for (let i = 0; i < 400; i++) {
      const line = lines().find((l) => (l.level === 30 || l.level === 50) && l.msg !== 'request received' && found(l));
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no such line in:\n${server.stdout()}`);
  }
  const credentialRequest = (token: string) => 'POST /v1/credentials HTTP/1.1\r\nhost: kubevend\r\n'
    + `authorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;

  it('when callers read their answers, then their lines carry no mark of an unanswered request', async () => {
    const issued = await fetch(`${url}/v1/credentials`, {
      method: 'POST', headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect(issued.status).toBe(201);
    expect(((await issued.json()) as { kubeconfig: string }).kubeconfig).toContain('token');
    const probed = await fetch(`${url}/healthz`);
    expect(await probed.json()).toEqual({ status: 'ok' });
    const refused = await fetch(`${url}/v1/credentials`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    await refused.text();
    for (const [res, msg] of [[issued, 'credential issued'], [probed, 'request completed'], [refused, 'request refused']] as const) {
      const line = await outcomeOf((l) => l.reqId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({ msg, statusCode: res.status });
      expect(line, JSON.stringify(line)).not.toHaveProperty('answered');
    }
  });

  it('when a caller resets its connection with one answer held and one queued, then both lines say answered: false', async () => {
    const before = new Set(lines().map((l) => l.reqId));
    // Two requests on one connection: the first waits on the hung API server; the second is issued
    // at once, and its answer waits behind the first's, as HTTP/1.1 answers in order.
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(credentialRequest(await ci.mint(githubClaims('acme/stuck'))) + credentialRequest(await ci.mint(githubClaims('acme/web'))));
    // The ledger, read as an operator with a database shell would, says when the second was granted.
    const ledger = new DatabaseSync(database, { readOnly: true, timeout: 5000 });
    let issuanceId: string | undefined;
    try {
      while (!issuanceId) {
        const granted = ledger.prepare("select request_id, issuance_id from audit_records where pipeline = 'web' and outcome = 'granted'").all();
        issuanceId = granted.find((r) => !before.has(r.request_id))?.issuance_id as string | undefined;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      ledger.close();
    }
    // The second answer is composed just after its grant is recorded; then the caller goes away.
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.resetAndDestroy();
    stuck.crash();
    const queued = await outcomeOf((l) => l.msg === 'credential issued' && ((l.issuances as string[] | undefined) ?? []).includes(issuanceId!));
    expect(queued).toMatchObject({ statusCode: 201, pipeline: 'web', answered: false });
    const held = await outcomeOf((l) => !before.has(l.reqId) && l.msg === 'request failed');
    expect(held).toMatchObject({ url: '/v1/credentials', answered: false });
    expect(held.statusCode).toBeGreaterThanOrEqual(500);
  });
});
