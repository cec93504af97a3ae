import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.ts';
import type { AuditRecord, GrantAnswer, Issuance, IssuanceInput } from '../src/store/ports.ts';
import { engines, freshStore } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

const minute = 60_000;

function issuance(overrides: Partial<IssuanceInput> = {}): IssuanceInput {
  const createdAt = new Date();
  return {
    id: randomUUID(),
    pipeline: 'web-deploy',
    issuer: 'https://ci.example.com',
    subject: 'repo:acme/web:ref:refs/heads/main',
    cluster: 'prod-eu',
    namespace: 'web',
    serviceAccount: 'deployer',
    tokenKind: 'short-lived',
    kubeTokenJti: randomUUID(),
    objects: [{ kind: 'Secret', name: 'kubevend-anchor', namespace: 'web' }],
    createdAt,
    expiresAt: new Date(createdAt.getTime() + 15 * minute),
    holder: 'holder-key',
    owner: null,
    ...overrides,
  };
}

/** The records of a grant the store made; a refusal fails the test with what the store answered. */
function granted(answer: GrantAnswer): AuditRecord[] {
  if (!('granted' in answer)) throw new Error(`the grant was refused: ${JSON.stringify(answer)}`);
  return answer.granted;
}

describe.each(engines)('IssuanceStore on $name', (engine) => {
  const t = freshStore(engine, 'all');

  it('when an issuance is created, then it reads back active with everything recorded', async () => {
    const input = issuance({ tokenKind: 'durable', kubeTokenJti: null });
    const created = await t.store.issuances.create(input);
    expect(created).toEqual({ ...input, state: 'active', revokedAt: null, revokedBy: null, expiredAt: null });
    expect(await t.store.issuances.get(input.id)).toEqual(created);
    expect(await t.store.issuances.get('no-such-issuance')).toBeUndefined();
  });

  it('when the reaper claims a pending issuance of a replica it took for dead, then that replica can no longer hand it out', async () => {
    const input = issuance({ kubeTokenJti: null, owner: 'replica-a' });
    await t.store.issuances.createPending(input);
    await t.store.leases.renew('replica-a', new Date(Date.now() - 1000));
    const stale = await t.store.issuances.listStale(new Date(0), 500, new Date());
    expect(stale.map((i) => i.id)).toContain(input.id);
    expect(await t.store.issuances.claim(input.id, 'replica-a')).toBe(true);
    const outcome = { expiresAt: new Date(Date.now() + 10 * minute), kubeTokenJti: 'k' };
    expect(await t.store.grants.commit([{ record: grantedRecord({ issuanceId: input.id }), issuanceId: input.id, outcome, owner: 'replica-a' }]))
      .toEqual({ refused: 'not_pending', issuanceId: input.id });
    expect((await t.store.issuances.get(input.id))?.state).toBe('pending');
    // A live replica's issuance, whose lease runs, is not listed, and its grant holds.
    const live = issuance({ kubeTokenJti: null, owner: 'replica-b' });
    await t.store.issuances.createPending(live);
    await t.store.leases.renew('replica-b', new Date(Date.now() + 10_000));
    expect((await t.store.issuances.listStale(new Date(0), 500, new Date())).map((i) => i.id)).not.toContain(live.id);
    expect(granted(await t.store.grants.commit([{ record: grantedRecord({ issuanceId: live.id }), issuanceId: live.id, outcome, owner: 'replica-b' }]))).toHaveLength(1);
  });

  it('when replicas\' leases lapsed long ago, then pruning forgets them, except one whose pending issuance still needs healing', async () => {
    const [gone, recent, busy] = ['gone', 'recent', 'busy'].map((n) => `${n}-${randomUUID()}`) as [string, string, string];
    const hoursAgo = (h: number) => new Date(Date.now() - h * 60 * minute);
    await t.store.leases.renew(gone, hoursAgo(2));
    await t.store.leases.renew(recent, new Date(Date.now() - minute));
    await t.store.leases.renew(busy, hoursAgo(2));
    const pending = issuance({ kubeTokenJti: null, owner: busy });
    await t.store.issuances.createPending(pending);
    const pruned = await t.store.leases.prune(hoursAgo(1));
    // Other tests' leases share this store, but none lapsed an hour ago without a pending issuance.
    expect(pruned).toBe(1);
    expect(await t.store.leases.prune(hoursAgo(1))).toBe(0);
    // The busy replica's lease is still there, so its issuance is still found as its replica's lapsed.
    expect((await t.store.issuances.listStale(new Date(0), 500, new Date())).map((i) => i.id)).toContain(pending.id);
    // Once healed, its lease goes too; the recent one stays until it is an hour old.
    await t.store.issuances.markFailed(pending.id, new Date());
    expect(await t.store.leases.prune(hoursAgo(1))).toBe(1);
    expect(await t.store.leases.prune(new Date())).toBeGreaterThanOrEqual(1);
  });

  it('when a pending issuance is activated, then it is active with the cluster\'s expiry and jti, and cannot be failed', async () => {
    const input = issuance({ kubeTokenJti: null });
    expect((await t.store.issuances.createPending(input)).state).toBe('pending');
    const due = await t.store.issuances.listDue(new Date(Date.now() + 60 * minute));
    expect(due.map((i) => i.id)).not.toContain(input.id);
    const expiresAt = new Date(Date.now() + 10 * minute);
    expect(await t.store.issuances.activate(input.id, { expiresAt, kubeTokenJti: 'k8s-jti' })).toBe(true);
    expect(await t.store.issuances.activate(input.id, { expiresAt, kubeTokenJti: 'other' })).toBe(false);
    expect(await t.store.issuances.markFailed(input.id, new Date())).toBe(false);
    expect(await t.store.issuances.get(input.id)).toMatchObject({ state: 'active', expiresAt, kubeTokenJti: 'k8s-jti' });
  });

  it('when pending issuances are granted, then their records are appended and they are active, in one go', async () => {
    const [a, b] = [issuance({ kubeTokenJti: null }), issuance({ kubeTokenJti: null, cluster: 'prod-us' })];
    await t.store.issuances.createPending(a);
    await t.store.issuances.createPending(b);
    const expiresAt = new Date(Date.now() + 10 * minute);
    const grant = (id: string) => ({ record: grantedRecord({ issuanceId: id }), issuanceId: id, outcome: { expiresAt, kubeTokenJti: `jti-${id}` }, owner: null });
    const records = granted(await t.store.grants.commit([grant(a.id), grant(b.id)]));
    expect(records.map((r) => r.issuanceId)).toEqual([a.id, b.id]);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    for (const { id } of [a, b]) expect(await t.store.issuances.get(id)).toMatchObject({ state: 'active', expiresAt, kubeTokenJti: `jti-${id}` });
    expect((await t.store.audit.list({ issuanceId: b.id })).items).toEqual([records[1]]);
    expect(await t.store.grants.commit([grant(a.id)])).toEqual({ refused: 'not_pending', issuanceId: a.id });
    expect(await t.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('when one of the issuances granted together is no longer pending, then nothing is written', async () => {
    const [pending, reaped] = [issuance(), issuance()];
    await t.store.issuances.createPending(pending);
    await t.store.issuances.createPending(reaped);
    expect(await t.store.issuances.markFailed(reaped.id, new Date())).toBe(true);
    const before = (await t.store.audit.list({}, { limit: 1 })).items[0];
    const outcome = { expiresAt: new Date(Date.now() + minute), kubeTokenJti: null };
    const grants = [pending, reaped, { id: 'no-such-issuance' }].map(({ id }) => ({ record: grantedRecord({ issuanceId: id }), issuanceId: id, outcome, owner: null }));
    expect(await t.store.grants.commit(grants.slice(0, 2))).toEqual({ refused: 'not_pending', issuanceId: reaped.id });
    expect(await t.store.grants.commit([grants[0]!, grants[2]!])).toEqual({ refused: 'not_pending', issuanceId: 'no-such-issuance' });
    expect((await t.store.issuances.get(pending.id))!.state).toBe('pending');
    expect((await t.store.issuances.get(reaped.id))!.state).toBe('failed');
    expect((await t.store.audit.list({}, { limit: 1 })).items[0]).toEqual(before);
    expect(granted(await t.store.grants.commit([grants[0]!]))).toHaveLength(1);
  });

  it('when a pipeline is suspended while its issuance is pending, then the grant answers that, writes nothing, and holds once it is lifted', async () => {
    // A pipeline of its own: the store is shared by this describe's tests.
    const pipeline = `stopped-${randomUUID()}`;
    const [here, elsewhere] = [issuance({ pipeline }), issuance({ pipeline, cluster: 'prod-us' })];
    for (const i of [here, elsewhere]) await t.store.issuances.createPending(i);
    const outcome = { expiresAt: new Date(Date.now() + minute), kubeTokenJti: null };
    const grant = ({ id, cluster }: IssuanceInput) => ({ record: grantedRecord({ issuanceId: id, pipeline, cluster }), issuanceId: id, outcome, owner: null });
    const operator = { kind: 'suspension', outcome: 'granted', pipeline } as const;
    const stop = (cluster: string | null) => t.store.suspensions.suspend({ pipeline, cluster, at: new Date(), suspendedBy: 'ada', reason: null }, operator);
    await stop('prod-eu');
    const head = await t.store.audit.head();
    expect(await t.store.grants.commit([grant(elsewhere), grant(here)])).toEqual({ refused: 'suspended', pipeline, cluster: 'prod-eu' });
    expect(await t.store.audit.head()).toEqual(head);
    expect((await t.store.issuances.get(elsewhere.id))?.state).toBe('pending');
    // Suspended everywhere, the first grant is the one refused.
    await stop(null);
    expect(await t.store.grants.commit([grant(elsewhere)])).toEqual({ refused: 'suspended', pipeline, cluster: 'prod-us' });
    expect(await t.store.suspensions.lift(pipeline, null, operator)).toBe(true);
    expect(await t.store.suspensions.lift(pipeline, 'prod-eu', operator)).toBe(true);
    expect(granted(await t.store.grants.commit([grant(elsewhere), grant(here)])).map((r) => r.issuanceId)).toEqual([elsewhere.id, here.id]);
  });

  it('when a pending issuance is left behind by a crash, then it is listed stale after the grace and can be failed once', async () => {
    const old = issuance({ createdAt: new Date(Date.now() - 10 * minute) });
    const fresh = issuance();
    await t.store.issuances.createPending(old);
    await t.store.issuances.createPending(fresh);
    const ours = (list: Issuance[]) => list.filter((i) => i.id === old.id || i.id === fresh.id);
    const stale = ours(await t.store.issuances.listStale(new Date(Date.now() - 5 * minute)));
    expect(stale.map((i) => i.id)).toEqual([old.id]);
    expect(stale[0]!.objects).toEqual(old.objects);
    expect(await t.store.issuances.markFailed(old.id, new Date())).toBe(true);
    expect(await t.store.issuances.markFailed(old.id, new Date())).toBe(false);
    expect(await t.store.issuances.activate(old.id, { expiresAt: new Date(), kubeTokenJti: null })).toBe(false);
    expect(ours(await t.store.issuances.listStale(new Date(Date.now() + 1000))).map((i) => i.id)).toEqual([fresh.id]);
  });

  it('when an issuance is revoked, then it stays revoked and neither a second revoke nor the reaper changes it', async () => {
    const { id } = await t.store.issuances.create(issuance());
    const at = new Date();
    expect(await t.store.issuances.markRevoked(id, at, 'operator:ada')).toBe(true);
    expect(await t.store.issuances.markRevoked(id, new Date(), 'operator:bob')).toBe(false);
    expect(await t.store.issuances.markExpired(id, new Date())).toBe(false);
    expect(await t.store.issuances.get(id)).toMatchObject({ state: 'revoked', revokedAt: at, revokedBy: 'operator:ada', expiredAt: null });
    expect(await t.store.issuances.markRevoked('no-such-issuance', at, 'operator:ada')).toBe(false);
  });

  it('when an issuance has expired, then the reaper finds it due, and once marked expired, no longer', async () => {
    const now = new Date();
    const past = await t.store.issuances.create(issuance({ pipeline: 'reaped', expiresAt: new Date(now.getTime() - minute) }));
    const older = await t.store.issuances.create(issuance({ pipeline: 'reaped', expiresAt: new Date(now.getTime() - 2 * minute) }));
    const live = await t.store.issuances.create(issuance({ pipeline: 'reaped' }));
    const due = (await t.store.issuances.listDue(now)).map((i) => i.id);
    expect(due).toEqual(expect.arrayContaining([older.id, past.id]));
    expect(due.indexOf(older.id)).toBeLessThan(due.indexOf(past.id));
    expect(due).not.toContain(live.id);

    expect(await t.store.issuances.markExpired(past.id, now)).toBe(true);
    expect(await t.store.issuances.markExpired(past.id, now)).toBe(false);
    expect(await t.store.issuances.markRevoked(past.id, now, 'operator:ada')).toBe(false);
    expect(await t.store.issuances.get(past.id)).toMatchObject({ state: 'expired', expiredAt: now, revokedAt: null });
    expect((await t.store.issuances.listDue(now)).map((i) => i.id)).not.toContain(past.id);
    expect(await t.store.issuances.listDue(now, 1)).toHaveLength(1);
  });

  it('when two replicas race to revoke and reap one issuance, then exactly one of them wins', async () => {
    const { id } = await t.store.issuances.create(issuance({ expiresAt: new Date(Date.now() - minute) }));
    const other = await openStore(t.database.url);
    try {
      const outcomes = await Promise.all([t.store.issuances.markExpired(id, new Date()), other.issuances.markRevoked(id, new Date(), 'operator:ada')]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect((await t.store.issuances.get(id))!.state).toBe(outcomes[0] ? 'expired' : 'revoked');
    } finally {
      await other.close();
    }
  });

  it('when listing by pipeline, cluster and state, then pages come newest first and each issuance once', async () => {
    const base = Date.UTC(2025, 0, 1);
    const made: Issuance[] = [];
    for (let i = 0; i < 7; i++) {
      // Two issuances share each creation time, so paging must break ties by id.
      const createdAt = new Date(base + Math.floor(i / 2) * minute);
      made.push(await t.store.issuances.create(issuance({ pipeline: 'paged', cluster: i % 3 === 0 ? 'prod-us' : 'prod-eu', createdAt })));
    }
    await t.store.issuances.markRevoked(made[1]!.id, new Date(), 'operator:ada');
    const expected = made.toSorted((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await t.store.issuances.list({ pipeline: 'paged' }, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected.map((i) => i.id));

    const usIds = (await t.store.issuances.list({ pipeline: 'paged', cluster: 'prod-us' })).items.map((i) => i.id);
    expect(usIds).toEqual(expected.filter((i) => i.cluster === 'prod-us').map((i) => i.id));
    expect((await t.store.issuances.list({ pipeline: 'paged', state: 'revoked' })).items.map((i) => i.id)).toEqual([made[1]!.id]);
    await expect(t.store.issuances.list({}, { cursor: 'bogus' })).rejects.toMatchObject({ status: 400, code: 'cursor_invalid' });
  });
});
