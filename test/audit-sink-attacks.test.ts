import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createTestIssuer } from './helpers/ci-issuer.ts';
import { scrape, startServedKubevend, type ServedKubevend } from './helpers/served.ts';
import { startServer } from './helpers/server-process.ts';

const vend = async (kv: ServedKubevend) =>
  fetch(`${kv.url}/v1/credentials`, { method: 'POST', headers: { authorization: `Bearer ${await kv.ciToken()}`, 'content-type': 'application/json' }, body: '{}' });

// What an audit sink's failures reach: the CI job, the ledger, the log and the process itself.
describe('audit sinks that fail, on the real server', () => {
  it('when a sink URL carries a password, then kubevend does not start, and says which setting without repeating it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubevend-sink-'));
    const ci = await createTestIssuer(dir);
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, stringify({ issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }], clusters: [], pipelines: [] }));
    const server = startServer({ KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_AUDIT_SINK_URL: 'http://user:s3cretpw@127.0.0.1:9/ingest', KUBEVEND_AUDIT_SINK_URL_MODE: 'fail-closed' });
    try {
      expect(await server.address().then(() => 'started', () => 'refused')).toBe('refused');
      expect(await server.code).toBe(1);
      expect(server.stderr()).toContain('KUBEVEND_AUDIT_SINK_URL');
      expect(server.stderr() + server.stdout()).not.toContain('s3cretpw');
    } finally {
      server.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when a fail-closed sink fails, then the job and the ledger get a fixed reason, never the sink\'s own error text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubevend-sink-'));
    const database = join(dir, 'ledger.db');
    const kv = await startServedKubevend('sink-fail', {
      env: { KUBEVEND_DATABASE_URL: `sqlite://${database}`, KUBEVEND_AUDIT_SINK_FILE: join(dir, 'no-such-folder', 'audit.ndjson'), KUBEVEND_AUDIT_SINK_FILE_MODE: 'fail-closed' },
    });
    try {
      const res = await vend(kv);
      const problem = (await res.json()) as { code: string };
      expect([res.status, problem.code]).toEqual([503, 'audit_sink_unavailable']);
      expect(JSON.stringify(problem)).not.toMatch(/no-such-folder|ENOENT/);
      const db = new DatabaseSync(database, { readOnly: true });
      const reasons = db.prepare('select reason from audit_records where kind = \'revocation\'').all() as { reason: string }[];
      db.close();
      expect(reasons.length).toBe(1);
      expect(reasons[0]!.reason).not.toMatch(/no-such-folder|ENOENT/);
      expect(kv.server.stdout()).toContain('audit sink failed');
    } finally {
      await kv.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(['best-effort', 'fail-closed'] as const)('when standard output is closed under a %s stdout sink, then the server lives on and the sink\'s failure is its own', async (mode) => {
    const kv = await startServedKubevend('sink-stdout', { env: { KUBEVEND_AUDIT_SINK_STDOUT: mode, KUBEVEND_AUDIT_SINK_BUFFER: '2' } });
    try {
      kv.server.closeStdout();
      const answers: number[] = [];
      for (let i = 0; i < 4; i++) answers.push((await vend(kv)).status);
      if (mode === 'best-effort') {
        expect(answers).toEqual([201, 201, 201, 201]);
        expect((await scrape(kv.url)).get('kubevend_audit_sink_dropped_records_total{sink="stdout"}')).toBeGreaterThan(0);
      } else {
        expect(answers.at(-1)).toBe(503);
      }
      expect((await fetch(`${kv.url}/healthz`)).status).toBe(200);
      expect(kv.server.stderr()).not.toContain('second error');
    } finally {
      await kv.close();
    }
  });
});
