import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import { fileSink } from '../src/sinks/file.ts';
import { httpSink } from '../src/sinks/http.ts';
import { createSinkQueue, type SinkMode } from '../src/sinks/queue.ts';
import { stdoutSink } from '../src/sinks/stdout.ts';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';
import { newSigningKey } from './helpers/signing-key.ts';
import { labelled } from './helpers/vended.ts';

const receiverScript = join(import.meta.dirname, 'helpers', 'audit-receiver.ts');

/** The receiver process, on `port` (0: any); what it received is in `file`. */
async function startReceiver(file: string, port = 0): Promise<{ port: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [receiverScript, String(port), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const listening = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const found = /listening (\d+)/.exec(String(d));
      if (found) resolve(Number(found[1]));
    });
    child.on('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
  });
  return { port: listening, stop: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGKILL'))) };
}

const received = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('audit sinks', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ci: TestIssuer;
  let ns: string;
  let kv: Kubevend | undefined;
  const dropped: Record<string, number> = {};

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    ns = await createNamespace('sinks');
    await createViewerServiceAccount(ns, 'deployer');
  });
  afterEach(async () => {
    await kv?.close();
    kv = undefined;
  });
  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const startWithSink = async (port: number, mode: SinkMode, { maxBuffer = 1000, checkpoints = false } = {}) => {
    const sink = createSinkQueue({
      name: 'http', mode, maxBuffer, batchSize: 100, backoffMs: 100, maxBackoffMs: 500,
      send: httpSink({ url: `http://127.0.0.1:${port}/ingest`, timeoutMs: 2_000 }),
      onDropped: (name, n) => void (dropped[name] = (dropped[name] ?? 0) + n),
    });
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, rateLimit: { requests: 1000, per: '1m' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }] }],
    }, { audit: { auditSinks: [sink], ...(checkpoints ? { checkpoints: { key: newSigningKey(), origin: 'sinks', everyRecords: 1, intervalMs: 3_600_000 } } : {}) } });
    return kv;
  };
  const vend = async (app: Kubevend) =>
    app.app.inject({ method: 'POST', url: '/v1/credentials', payload: {}, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}` } });
  const grantsFor = (lines: { record?: { kind: string; outcome: string; issuanceId: string } }[], issuanceId: string) =>
    lines.filter((l) => l.record?.issuanceId === issuanceId).map((l) => `${l.record!.kind}/${l.record!.outcome}`);

  it('when a fail-closed endpoint takes records, then each credential\'s record is there before the answer', async () => {
    const file = join(scratch.dir, 'closed-up.ndjson');
    const receiver = await startReceiver(file);
    try {
      const app = await startWithSink(receiver.port, 'fail-closed', { checkpoints: true });
      const res = await vend(app);
      expect(res.statusCode).toBe(201);
      const lines = await received(file);
      expect(grantsFor(lines, res.json().issuanceId)).toEqual(['issuance/granted']);
      expect(lines[0]).toMatchObject({ type: 'kubevend.audit.record', record: { pipeline: 'web', namespace: ns } });
      // The checkpoint that covers it follows, where the database cannot reach it.
      await expect.poll(async () => (await received(file)).find((l) => l.type === 'kubevend.audit.checkpoint')?.checkpoint)
        .toMatchObject({ origin: 'sinks', size: lines[0].record.id });
    } finally {
      await receiver.stop();
    }
  });

  it('when a fail-closed endpoint is down, then no credential is handed out, what was made is revoked, and the records arrive once it is back', async () => {
    const file = join(scratch.dir, 'closed-down.ndjson');
    const first = await startReceiver(file);
    const app = await startWithSink(first.port, 'fail-closed');
    await first.stop();
    const res = await vend(app);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'audit_sink_unavailable' });
    const [issuance] = (await app.store.issuances.list({ pipeline: 'web' })).items;
    expect(issuance).toMatchObject({ state: 'revoked', revokedBy: 'kubevend: audit sink' });
    expect(await labelled(`kubevend.io/issuance=${issuance!.id}`)).toEqual([]);

    const back = await startReceiver(file, first.port);
    try {
      await expect.poll(async () => grantsFor(await received(file), issuance!.id), { timeout: 15_000 }).toEqual(['issuance/granted', 'revocation/granted']);
      await expect.poll(async () => (await received(file)).filter((l) => l.record?.reasonCode === 'audit_sink_unavailable').map((l) => `${l.record.kind}/${l.record.outcome}`))
        .toEqual(['revocation/granted', 'issuance/failed']);
      expect((await vend(app)).statusCode).toBe(201);
    } finally {
      await back.stop();
    }
  });

  it('when a best-effort endpoint is down, then credentials are still issued, the buffer is bounded and what it drops is counted', async () => {
    const file = join(scratch.dir, 'best-effort.ndjson');
    const first = await startReceiver(file);
    const app = await startWithSink(first.port, 'best-effort', { maxBuffer: 2 });
    await first.stop();
    const answers = [await vend(app), await vend(app), await vend(app)];
    expect(answers.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    expect(dropped.http).toBe(1);
    const back = await startReceiver(file, first.port);
    try {
      const records = async () => (await received(file)).filter((l) => l.type === 'kubevend.audit.record');
      await expect.poll(async () => (await records()).length, { timeout: 15_000 }).toBe(2);
      const ids = (await records()).map((l) => l.record.issuanceId);
      expect(ids).toEqual(answers.slice(0, 2).map((r) => r.json().issuanceId));
    } finally {
      await back.stop();
    }
  });

  it('when the file sink passes its size, then it rotates, keeps the newest files, and no line is cut', async () => {
    const path = join(scratch.dir, 'rotating', 'audit.log');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(scratch.dir, 'rotating')));
    const sink = createSinkQueue({ name: 'file', mode: 'fail-closed', maxBuffer: 1000, batchSize: 10, send: fileSink({ path, maxBytes: 2048, keep: 2 }) });
    const line = (i: number) => `${JSON.stringify({ type: 'kubevend.audit.record', record: { id: i, pad: 'x'.repeat(80) } })}\n`;
    await Promise.all(Array.from({ length: 100 }, (_, i) => sink.push(line(i + 1))));
    expect((await readdir(join(scratch.dir, 'rotating'))).sort()).toEqual(['audit.log', 'audit.log.1', 'audit.log.2']);
    const ids: number[] = [];
    for (const name of ['audit.log.2', 'audit.log.1', 'audit.log']) {
      const text = await readFile(join(scratch.dir, 'rotating', name), 'utf8');
      expect(text.length).toBeLessThanOrEqual(2048);
      ids.push(...text.split('\n').filter(Boolean).map((l) => JSON.parse(l).record.id));
    }
    // The newest records, in order, none cut; the oldest went with the rotated-out file.
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => 100 - ids.length + i + 1));
  });

  it('when the stdout sink writes, then each record is one whole JSON line', async () => {
    const written: string[] = [];
    const sink = createSinkQueue({ name: 'stdout', mode: 'fail-closed', maxBuffer: 10, batchSize: 10, send: stdoutSink(new Writable({ write: (chunk, _encoding, done) => (written.push(String(chunk)), done()) })) });
    await Promise.all([sink.push('{"a":1}\n'), sink.push('{"b":2}\n')]);
    expect(written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l))).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
