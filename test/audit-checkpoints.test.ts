import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { signCheckpoint, type Checkpoint } from '../src/ledger/checkpoint.ts';
import type { SigningKey } from '../src/ledger/signing-key.ts';
import { verifyCheckpoint } from '../src/ledger/verify.ts';
import { createCheckpointSigner } from '../src/services/audit-checkpoints.ts';
import type { Store } from '../src/store/ports.ts';
import { engines, freshStore } from './helpers/store.ts';
import { rewriteFrom } from './helpers/ledger-tamper.ts';
import { newSigningKey } from './helpers/signing-key.ts';
import { grantedRecord } from './helpers/store-record.ts';


const keysOf = (...keys: SigningKey[]) => new Map(keys.map((k) => [k.keyId, k.publicKey]));

async function appendSome(store: Store, count: number) {
  for (let i = 0; i < count; i++) await store.audit.append(grantedRecord());
}

describe.each(engines)('signed checkpoints on $name', (engine) => {
  const t = freshStore(engine);
  const key = newSigningKey();
  const signer = () => createCheckpointSigner({ store: t.store, key, origin: 'test', everyRecords: 1000, intervalMs: 3_600_000 });

  it('when records after a point are rewritten and the chain and head recomputed, then the chain verifies but every earlier checkpoint fails', async () => {
    await appendSome(t.store, 5);
    const early = (await signer().signNow())!;
    await appendSome(t.store, 5);
    const later = (await signer().signNow())!;
    expect(await verifyCheckpoint(t.store.audit, early, keysOf(key))).toEqual({ ok: true, count: 10 });

    await rewriteFrom(t.store, t.database, 3);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 10 });
    expect(await verifyCheckpoint(t.store.audit, early, keysOf(key))).toMatchObject({ ok: false, recordId: 5, problem: 'checkpoint_differs' });
    expect(await verifyCheckpoint(t.store.audit, later, keysOf(key))).toMatchObject({ ok: false, recordId: 10, problem: 'checkpoint_differs' });
  });

  it('when the rewrite is of records not yet signed, then the signer refuses to sign it rather than vouch for it', async () => {
    await appendSome(t.store, 4);
    await signer().signNow();
    await appendSome(t.store, 4);
    await rewriteFrom(t.store, t.database, 2);
    expect(await signer().signNow()).toBeUndefined();
    expect(JSON.parse((await t.store.checkpoints.latest())!)).toMatchObject({ size: 4 });
  });

  it('when the ledger is cut back below a checkpoint and its head moved, then the checkpoint says it is longer', async () => {
    await appendSome(t.store, 6);
    const checkpoint = (await signer().signNow())!;
    const fourth = await t.store.audit.get(4);
    await t.database.raw('delete from audit_records where id > 4');
    await t.database.raw(`update audit_chain set last_id = 4, head_hash = '${fourth!.hash}' where id = 1`);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 4 });
    expect(await verifyCheckpoint(t.store.audit, checkpoint, keysOf(key))).toMatchObject({ ok: false, problem: 'shorter_than_checkpoint' });
  });

  it('when a checkpoint is forged with another key, or a signed one is edited to a later count, then neither verifies', async () => {
    await appendSome(t.store, 3);
    const real = (await signer().signNow())!;
    const forger = newSigningKey();
    const head = await t.store.audit.head();
    const forged: Checkpoint = signCheckpoint({ ...real, size: head.size, headHash: head.headHash }, forger);
    expect(await verifyCheckpoint(t.store.audit, forged, keysOf(key))).toMatchObject({ ok: false, problem: 'unknown_key' });
    expect(await verifyCheckpoint(t.store.audit, { ...forged, keyId: key.keyId }, keysOf(key))).toMatchObject({ ok: false, problem: 'signature_invalid' });
    expect(await verifyCheckpoint(t.store.audit, { ...real, size: 3000 }, keysOf(key))).toMatchObject({ ok: false, problem: 'signature_invalid' });
  });

  it('when the signing key is rotated, then checkpoints of the old key still verify beside those of the new one', async () => {
    await appendSome(t.store, 3);
    const old = (await signer().signNow())!;
    const next = newSigningKey();
    await appendSome(t.store, 2);
    const fresh = (await createCheckpointSigner({ store: t.store, key: next, origin: 'test', everyRecords: 1000, intervalMs: 3_600_000, trustedKeys: keysOf(next, key) }).signNow())!;
    expect(fresh).toMatchObject({ keyId: next.keyId, fromSize: 3, size: 5 });
    expect(await verifyCheckpoint(t.store.audit, old, keysOf(next, key))).toEqual({ ok: true, count: 5 });
    expect(await verifyCheckpoint(t.store.audit, fresh, keysOf(next, key))).toEqual({ ok: true, count: 5 });
    expect(await verifyCheckpoint(t.store.audit, old, keysOf(next))).toMatchObject({ ok: false, problem: 'unknown_key' });
  });

  it('when records are appended, then one is signed every N records, and on stop for the rest', async () => {
    const running = createCheckpointSigner({ store: t.store, key, origin: 'test', everyRecords: 3, intervalMs: 3_600_000 });
    running.start();
    await appendSome(t.store, 4);
    await expect.poll(async () => JSON.parse((await t.store.checkpoints.latest()) ?? '{}').size).toBe(3);
    await running.stop();
    expect(JSON.parse((await t.store.checkpoints.latest())!)).toMatchObject({ size: 4, fromSize: 3 });
  });

  it('when signing is turned on for a ledger that already holds many records, then it is signed in bounded batches that each verify', async () => {
    await appendSome(t.store, 25);
    const bounded = createCheckpointSigner({ store: t.store, key, origin: 'test', everyRecords: 1000, intervalMs: 3_600_000, maxBatchRecords: 10 });
    expect(await bounded.signNow()).toMatchObject({ fromSize: 20, size: 25 });
    const rows = await t.database.raw('select size, from_size from audit_checkpoints order by size');
    expect(rows.map((r) => [Number(r.from_size), Number(r.size)])).toEqual([[0, 10], [10, 20], [20, 25]]);
    for (const r of rows) {
      const body = (await t.database.raw(`select body from audit_checkpoints where size = ${Number(r.size)}`))[0]!.body as string;
      expect(await verifyCheckpoint(t.store.audit, JSON.parse(body), keysOf(key))).toEqual({ ok: true, count: 25 });
    }
  });

  it('when records are pruned past the last checkpoint, then the signer does not start a batch at the unsigned anchor', async () => {
    const old = (day: number) => t.store.audit.append(grantedRecord({ time: new Date(Date.UTC(2025, 0, day)) }));
    await old(1);
    await signer().signNow();
    await old(2);
    await old(3);
    await appendSome(t.store, 2);
    expect(await t.store.audit.prune(new Date(Date.UTC(2025, 0, 6)))).toBe(3);
    expect(await signer().signNow()).toBeUndefined();
    expect(JSON.parse((await t.store.checkpoints.latest())!)).toMatchObject({ size: 1 });
  });

  it('when records a checkpoint covers are pruned, then it cannot be proved and a later one can', async () => {
    const old = (day: number) => t.store.audit.append(grantedRecord({ time: new Date(Date.UTC(2025, 0, day)) }));
    await old(1);
    await old(2);
    const early = (await signer().signNow())!;
    await old(3);
    await old(4);
    await appendSome(t.store, 2);
    const later = (await signer().signNow())!;
    expect(await t.store.audit.prune(new Date(Date.UTC(2025, 0, 6)))).toBe(4);
    expect(await verifyCheckpoint(t.store.audit, early, keysOf(key))).toMatchObject({ ok: false, problem: 'checkpoint_pruned' });
    expect(await verifyCheckpoint(t.store.audit, later, keysOf(key))).toEqual({ ok: true, count: 2 });
  });
});

// Records appended while a signing is under way are counted toward the next one, never dropped.
describe('records appended during a signing', () => {
  const t = freshStore(engines.find((e) => e.name === 'postgres')!);

  it('when records arrive while a checkpoint is being signed, then the next checkpoint covers them without waiting for the interval', async () => {
    const signer = createCheckpointSigner({ store: t.store, key: newSigningKey(), origin: 'test', everyRecords: 1, intervalMs: 3_600_000 });
    signer.start();
    // A lock on the checkpoints holds the first signing mid-way, as a slow database would.
    const holder = new pg.Client({ connectionString: t.database.url });
    try {
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table audit_checkpoints in access exclusive mode');
      await appendSome(t.store, 1);
      await appendSome(t.store, 2);
      await holder.query('rollback');
      await expect.poll(async () => JSON.parse((await t.store.checkpoints.latest()) ?? '{}').size).toBe(3);
    } finally {
      await holder.end().catch(() => undefined);
      await signer.stop();
    }
  });
});
