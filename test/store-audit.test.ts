import { describe, expect, it } from 'vitest';
import { recordHash } from '../src/store/audit-chain.ts';
import { engines, freshStore, inAnotherProcess } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

const day = 86_400_000;

describe.each(engines)('AuditLedger chain on $name', (engine) => {
  const t = freshStore(engine);

  const appendSome = async (count: number, at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * day)) => {
    const records = [];
    for (let i = 0; i < count; i++) records.push(await t.store.audit.append(grantedRecord({ time: at(i) })));
    return records;
  };

  it('when records are appended, then each links to the one before and reads back exactly as written', async () => {
    const input = grantedRecord({ claims: { repository: 'acme/web', environment: 'production', jti: 'ci-jti-1' } });
    const [first, second] = [await t.store.audit.append(input), await t.store.audit.append(grantedRecord())];
    expect(first).toMatchObject({ id: 1, prevHash: '0'.repeat(64), pipeline: 'web-deploy', claims: input.claims, objects: input.objects });
    expect(second!.prevHash).toBe(first!.hash);
    expect(second!.hash).toBe(recordHash(first!.hash, second!));
    expect((await t.store.audit.list({})).items).toEqual([second, first]);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 2 });
  });

  it('when a denial with few details is appended, then its missing fields read back as null or empty', async () => {
    const record = await t.store.audit.append({ kind: 'issuance', outcome: 'denied', reasonCode: 'pipeline_not_matched' });
    expect(record).toMatchObject({ pipeline: null, cluster: null, claims: {}, objects: [], audiences: [], tokenFingerprint: null });
    expect((await t.store.audit.list({ outcome: 'denied' })).items).toEqual([record]);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 1 });
  });

  it('when a stored field is changed behind the ledger, then verify names that record', async () => {
    await appendSome(5);
    await t.database.raw(`update audit_records set namespace = 'kube-system' where id = 3`);
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, count: 2, recordId: 3, problem: 'content_changed' });
  });

  it('when a record is changed and rehashed behind the ledger, then verify finds the next link broken', async () => {
    await appendSome(5);
    await t.database.raw(`update audit_records set outcome = 'denied', hash = '${'f'.repeat(64)}' where id = 2`);
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, recordId: 2, problem: 'content_changed' });
    const [record2] = (await t.store.audit.list({ outcome: 'denied' })).items;
    await t.database.raw(`update audit_records set hash = '${recordHash(record2!.prevHash, record2!)}' where id = 2`);
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, count: 2, recordId: 3, problem: 'link_broken' });
  });

  it('when a filterable copy of a claim is changed, then verify reports the record', async () => {
    await appendSome(3);
    await t.database.raw(`update audit_records set claim_repository = 'acme/other' where id = 2`);
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, recordId: 2, problem: 'content_changed' });
  });

  it('when a record in the middle or at the end is deleted, then verify reports it missing', async () => {
    await appendSome(5);
    await t.database.raw('delete from audit_records where id = 5');
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, count: 4, recordId: 5, problem: 'missing' });
    await t.database.raw('delete from audit_records where id = 2');
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, count: 1, recordId: 2, problem: 'missing' });
  });

  it('when old records are pruned, then the rest still verifies and new appends extend it', async () => {
    await appendSome(6);
    expect(await t.store.audit.prune(new Date(Date.UTC(2025, 0, 4)))).toBe(3);
    expect((await t.store.audit.list({})).items.map((r) => r.id)).toEqual([6, 5, 4]);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 3 });
    await t.store.audit.append(grantedRecord());
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 4 });
    expect(await t.store.audit.prune(new Date(Date.UTC(2025, 0, 4)))).toBe(0);
  });

  it('when a pruned chain is tampered with at its first kept record, then verify still notices', async () => {
    await appendSome(4);
    await t.store.audit.prune(new Date(Date.UTC(2025, 0, 3)));
    await t.database.raw(`update audit_records set prev_hash = '${'0'.repeat(64)}' where id = 3`);
    expect(await t.store.audit.verify()).toMatchObject({ ok: false, count: 0, recordId: 3, problem: 'link_broken' });
  });

  it('when everything is older than the cut, then prune empties the ledger and the chain goes on', async () => {
    const [, last] = await appendSome(2);
    expect(await t.store.audit.prune(new Date())).toBe(2);
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 0 });
    expect(await t.store.audit.append(grantedRecord())).toMatchObject({ id: 3, prevHash: last!.hash });
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 1 });
  });

  it('when several processes append at once, then every record lands once and the chain verifies', async () => {
    const [mine, ...theirs] = await Promise.all([
      appendSome(15, () => new Date()).then((records) => records.map((r) => r.id)),
      inAnotherProcess<number[]>(t.database.url, 'append', '15', 'worker-a'),
      inAnotherProcess<number[]>(t.database.url, 'append', '15', 'worker-b'),
      inAnotherProcess<number[]>(t.database.url, 'append', '15', 'worker-c'),
    ]);
    const ids = [mine, ...theirs].flat().toSorted((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await t.store.audit.verify()).toEqual({ ok: true, count: 60 });
    expect((await t.store.audit.list({ pipeline: 'worker-b' })).items.map((r) => r.id)).toEqual(theirs[1]!.toReversed());
  });
});
