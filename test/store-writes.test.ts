import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it, vi } from 'vitest';
import { checkpointIntervalMs } from '../src/store/checkpointer.ts';
import { openStore } from '../src/store/open.ts';
import type { IssuanceInput } from '../src/store/ports.ts';
import { maxBatch } from '../src/store/write-batch.ts';
import { engines, freshStore } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

// Writes asked for together (as requests in flight ask for them) share a transaction on SQLite.
// Whatever the engine, each write is all or nothing on its own and answered once it is committed.

const minute = 60_000;
const later = () => new Date(Date.now() + 10 * minute);

function pending(overrides: Partial<IssuanceInput> = {}): IssuanceInput {
  const createdAt = new Date();
  return {
    id: randomUUID(), pipeline: 'web-deploy', issuer: 'https://ci.example.com', subject: 'repo:acme/web',
    cluster: 'prod-eu', namespace: 'web', serviceAccount: 'deployer', tokenKind: 'short-lived', kubeTokenJti: null,
    objects: [{ kind: 'Secret', name: 'kubevend-anchor', namespace: 'web' }], createdAt, expiresAt: new Date(createdAt.getTime() + 15 * minute),
    ...overrides,
  };
}

const grant = (id: string) => ({ record: grantedRecord({ issuanceId: id }), issuanceId: id, outcome: { expiresAt: later(), kubeTokenJti: `jti-${id}` }, owner: null });

describe.each(engines)('writes in flight together on $name', (engine) => {
  const t = freshStore(engine);

  it('when many tokens are spent at once, some twice, then each token id is accepted exactly once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `run-${i % 25}`);
    const accepted = await Promise.all(ids.map((jti) => t.store.replay.acceptOnce('ci', jti, later())));
    const wins = new Map<string, number>();
    ids.forEach((jti, i) => wins.set(jti, (wins.get(jti) ?? 0) + (accepted[i] ? 1 : 0)));
    expect([...wins.values()]).toEqual(Array(25).fill(1));
    expect(await t.store.replay.acceptOnce('ci', 'run-3', later())).toBe(false);
  });

  it('when one write of many fails, then it alone is refused and every other one is written', async () => {
    const taken = pending();
    await t.store.issuances.createPending(taken);
    const inputs = [pending(), { ...taken, pipeline: 'another' }, pending()];
    const results = await Promise.allSettled(inputs.map((input) => t.store.issuances.createPending(input)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    for (const input of [inputs[0]!, inputs[2]!]) expect((await t.store.issuances.get(input.id))?.state).toBe('pending');
    expect((await t.store.issuances.get(taken.id))?.pipeline).toBe('web-deploy');
  });

  it('when grants are appended at once and one issuance is no longer pending, then the others are recorded and the chain verifies', async () => {
    const [a, b, c] = [pending(), pending(), pending()];
    for (const p of [a, b, c]) await t.store.issuances.createPending(p);
    expect(await t.store.issuances.markFailed(b.id, new Date())).toBe(true);
    const [ra, rb, rc] = await Promise.all([a, b, c].map((p) => t.store.grants.commit([grant(p.id)])));
    expect(rb).toEqual({ refused: 'not_pending', issuanceId: b.id });
    const [recordA, recordC] = [ra!, rc!].map((answer) => ('granted' in answer ? answer.granted[0] : undefined));
    expect([recordA?.issuanceId, recordC?.issuanceId]).toEqual([a.id, c.id]);
    expect(recordC!.prevHash).toBe(recordA!.hash);
    expect((await t.store.audit.list({})).items.map((r) => r.issuanceId)).toEqual([c.id, a.id]);
    expect((await t.store.issuances.get(b.id))?.state).toBe('failed');
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 2 });
  });

  it('when more writes are asked for at once than one transaction takes, then every one is written once', async () => {
    const count = maxBatch * 2 + 7;
    const records = await Promise.all(Array.from({ length: count }, (_, i) => t.store.audit.append(grantedRecord({ requestId: `req-${i}` }))));
    expect(records.map((r) => r.requestId)).toEqual(Array.from({ length: count }, (_, i) => `req-${i}`));
    const ids = records.map((r) => r.id);
    // On SQLite they commit in the order asked; PostgreSQL commits them as its connections finish.
    if (engine.name === 'sqlite') expect(ids).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    else expect(ids.toSorted((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(await t.store.audit.verify()).toEqual({ ok: true, count });
  });

  it('when the store closes with writes in flight, then each is answered first and is there when the store opens again', async () => {
    const spent = t.store.replay.acceptOnce('ci', 'closing', later());
    const recorded = t.store.audit.append(grantedRecord({ requestId: 'closing' }));
    await t.store.close();
    expect(await spent).toBe(true);
    expect((await recorded).requestId).toBe('closing');
    t.store = await openStore(t.database.url);
    expect(await t.store.replay.acceptOnce('ci', 'closing', later())).toBe(false);
    expect((await t.store.audit.list({})).items.map((r) => r.requestId)).toEqual(['closing']);
  });
});

describe('SQLite checkpoints', () => {
  const t = freshStore(engines.find((e) => e.name === 'sqlite')!);

  it('when records are written and the service goes on running, then within moments they are in the database file itself, not only in its log', async () => {
    // Far fewer pages than SQLite's own checkpoint waits for (1,000): without the checkpoint thread
    // these records would stay in the write-ahead log, which a power failure can take.
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.store.audit.append(grantedRecord({ requestId: `kept-${i}` }))));
    const dir = await mkdtemp(join(tmpdir(), 'kubevend-checkpoint-'));
    // The database file alone, as if its log were lost: how many records it holds.
    const inFileAlone = async () => {
      const copy = join(dir, 'copy.db');
      await copyFile(new URL(t.database.url).pathname, copy);
      const db = new DatabaseSync(copy);
      try {
        return (db.prepare('select count(*) as n from audit_records').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    try {
      await vi.waitFor(async () => expect(await inFileAlone()).toBe(20), { timeout: checkpointIntervalMs * 25, interval: checkpointIntervalMs / 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
