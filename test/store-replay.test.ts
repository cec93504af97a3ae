import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.ts';
import { engines, freshStore, inAnotherProcess } from './helpers/store.ts';

const issuer = 'https://ci.example.com';
const inTenMinutes = () => new Date(Date.now() + 600_000);

describe.each(engines)('ReplayGuard on $name', (engine) => {
  const t = freshStore(engine);

  it('when a CI token id is presented twice, then it is accepted the first time only', async () => {
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(true);
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(false);
    expect(await t.store.replay.acceptOnce(issuer, 'run-2', inTenMinutes())).toBe(true);
  });

  it('when another issuer uses the same token id, then it is its own token and accepted once', async () => {
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(true);
    expect(await t.store.replay.acceptOnce('https://gitlab.example.com', 'run-1', inTenMinutes())).toBe(true);
    expect(await t.store.replay.acceptOnce('https://gitlab.example.com', 'run-1', inTenMinutes())).toBe(false);
  });

  it('when a token id was accepted, then a second connection and another process refuse it', async () => {
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(true);
    const second = await openStore(t.database.url);
    try {
      expect(await second.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(false);
    } finally {
      await second.close();
    }
    expect(await inAnotherProcess<string[]>(t.database.url, 'accept', issuer, 'run-1', 'run-2')).toEqual(['run-2']);
    expect(await t.store.replay.acceptOnce(issuer, 'run-2', inTenMinutes())).toBe(false);
  });

  it('when connections in two processes race for the same token ids, then each id is won exactly once', async () => {
    const jtis = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    const [mine, theirs, others] = await Promise.all([
      (async () => {
        const won: string[] = [];
        for (const jti of jtis) if (await t.store.replay.acceptOnce(issuer, jti, inTenMinutes())) won.push(jti);
        return won;
      })(),
      inAnotherProcess<string[]>(t.database.url, 'accept', issuer, ...jtis),
      inAnotherProcess<string[]>(t.database.url, 'accept', issuer, ...jtis.toReversed()),
    ]);
    const winners = [...mine, ...theirs, ...others];
    expect(winners.toSorted()).toEqual(jtis.toSorted());
  });

  it('when pruned, then expired token ids are forgotten and live ones still refused', async () => {
    const now = new Date();
    await t.store.replay.acceptOnce(issuer, 'old', new Date(now.getTime() - 1_000));
    await t.store.replay.acceptOnce(issuer, 'live', new Date(now.getTime() + 60_000));
    expect(await t.store.replay.pruneReplay(now)).toBe(1);
    expect(await t.store.replay.acceptOnce(issuer, 'live', inTenMinutes())).toBe(false);
    expect(await t.store.replay.acceptOnce(issuer, 'old', inTenMinutes())).toBe(true);
  });

  it('when a remembered token has expired, then its id counts as new again and is accepted once', async () => {
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', new Date(Date.now() - 1_000))).toBe(true);
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(true);
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(false);
  });

  it('when a token id is released after a failed request, then the CI job may retry with the same token', async () => {
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(true);
    await t.store.replay.release(issuer, 'run-1');
    expect(await inAnotherProcess<string[]>(t.database.url, 'accept', issuer, 'run-1')).toEqual(['run-1']);
    expect(await t.store.replay.acceptOnce(issuer, 'run-1', inTenMinutes())).toBe(false);
  });
});
