import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../src/errors.ts';
import type { AuditFilter, AuditRecord, Page } from '../src/store/ports.ts';
import { engines, freshStore } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

const at = (hour: number) => new Date(Date.UTC(2025, 5, 1, hour));

describe.each(engines)('AuditLedger listing on $name', (engine) => {
  const t = freshStore(engine, 'all');
  let web: AuditRecord;
  let api: AuditRecord;
  let denied: AuditRecord;
  let revoked: AuditRecord;

  beforeAll(async () => {
    web = await t.store.audit.append(grantedRecord({ time: at(1), issuanceId: 'iss-web' }));
    api = await t.store.audit.append(
      grantedRecord({ time: at(2), pipeline: 'api-deploy', cluster: 'prod-us', namespace: 'api', claims: { project: 'acme/api', ref: 'main' } }),
    );
    denied = await t.store.audit.append({ time: at(3), kind: 'issuance', outcome: 'denied', reasonCode: 'pipeline_not_matched', claims: { repository: 'acme/fork' } });
    revoked = await t.store.audit.append(grantedRecord({ time: at(4), kind: 'revocation', issuanceId: 'iss-web', reason: 'revoked by ada' }));
  });

  const ids = async (filter: AuditFilter) => (await t.store.audit.list(filter)).items.map((r) => r.id);

  it('when listing without a filter, then every record comes newest first', async () => {
    expect(await ids({})).toEqual([revoked.id, denied.id, api.id, web.id]);
  });

  it('when filtering on one field, then only the records matching it come back', async () => {
    expect(await ids({ pipeline: 'api-deploy' })).toEqual([api.id]);
    expect(await ids({ repository: 'acme/web' })).toEqual([revoked.id, web.id]);
    expect(await ids({ project: 'acme/api' })).toEqual([api.id]);
    expect(await ids({ cluster: 'prod-eu' })).toEqual([revoked.id, web.id]);
    expect(await ids({ namespace: 'api' })).toEqual([api.id]);
    expect(await ids({ outcome: 'denied' })).toEqual([denied.id]);
    expect(await ids({ kind: 'revocation' })).toEqual([revoked.id]);
    expect(await ids({ issuanceId: 'iss-web' })).toEqual([revoked.id, web.id]);
    expect(await ids({ from: at(2), to: at(4) })).toEqual([denied.id, api.id]);
    expect(await ids({ pipeline: 'nobody' })).toEqual([]);
  });

  it('when filters are combined, then a record must match all of them', async () => {
    expect(await ids({ repository: 'acme/web', kind: 'issuance' })).toEqual([web.id]);
    expect(await ids({ issuanceId: 'iss-web', from: at(2) })).toEqual([revoked.id]);
  });

  it('when streaming a filter, then it yields the same records as listing it', async () => {
    const streamed: AuditRecord[] = [];
    for await (const record of t.store.audit.stream({ repository: 'acme/web' })) streamed.push(record);
    expect(streamed).toEqual([revoked, web]);
  });

  it('when the cursor was not handed out by the ledger, then listing fails with a 400 problem', async () => {
    for (const cursor of ['not-a-cursor', '', Buffer.from('["issuance",1,"x"]').toString('base64url'), Buffer.from('["audit",-1]').toString('base64url')]) {
      const listing = t.store.audit.list({}, { cursor });
      await expect(listing).rejects.toBeInstanceOf(Problem);
      await expect(listing).rejects.toMatchObject({ status: 400, code: 'cursor_invalid' });
    }
  });

  it('when the limit is outside 1..500, then listing fails with a 400 problem', async () => {
    for (const limit of [0, 501, 2.5]) {
      await expect(t.store.audit.list({}, { limit })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    }
    expect((await t.store.audit.list({}, { limit: 500 })).items).toHaveLength(4);
  });

  it('when paging while other records are appended, then every record there at the start comes exactly once, newest first', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }),
        async (initial, limit, appendsPerPage) => {
          const pipeline = `paged-${run++}`;
          const present: number[] = [];
          for (let i = 0; i < initial; i++) {
            present.push((await t.store.audit.append(grantedRecord({ pipeline }))).id);
            if (i % 3 === 0) await t.store.audit.append(grantedRecord({ pipeline: 'someone-else' }));
          }
          const seen: number[] = [];
          let cursor: string | null = null;
          for (let page = 0; page === 0 || cursor; page++) {
            const appending = Array.from({ length: appendsPerPage[page] ?? 1 }, () => t.store.audit.append(grantedRecord({ pipeline })));
            const [listed]: [Page<AuditRecord>, ...AuditRecord[]] = await Promise.all([t.store.audit.list({ pipeline }, { limit, ...(cursor ? { cursor } : {}) }), ...appending]);
            seen.push(...listed.items.map((r) => r.id));
            cursor = listed.nextCursor;
          }
          expect(seen).toEqual(seen.toSorted((a, b) => b - a).filter((id, i, all) => all.indexOf(id) === i));
          expect(seen.filter((id) => present.includes(id))).toEqual(present.toReversed());
        },
      ),
      { numRuns: 25 },
    );
    expect(await t.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('when streaming more records than one batch holds, then every one comes once, newest first', async () => {
    const appended: number[] = [];
    for (let i = 0; i < 1_100; i++) appended.push((await t.store.audit.append(grantedRecord({ pipeline: 'bulk' }))).id);
    const streamed: number[] = [];
    for await (const record of t.store.audit.stream({ pipeline: 'bulk' })) streamed.push(record.id);
    expect(streamed).toEqual(appended.toReversed());
  });
});
