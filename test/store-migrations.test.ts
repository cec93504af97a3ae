import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.ts';
import { engines, inAnotherProcess, type FreshDatabase } from './helpers/store.ts';
import { grantedRecord } from './helpers/store-record.ts';

describe.each(engines)('openStore on $name', (engine) => {
  let database: FreshDatabase;

  beforeEach(async () => {
    database = await engine.fresh();
  });

  afterEach(async () => {
    await database?.drop();
  });

  it('when a store opens an empty database, then it creates the schema and records its migrations', async () => {
    const store = await openStore(database.url);
    try {
      expect((await store.audit.append(grantedRecord())).id).toBe(1);
    } finally {
      await store.close();
    }
    const migrations = await database.raw('select name from kysely_migration order by name');
    expect(migrations.map((m) => m.name)).toEqual(['0001_initial', '0002_suspensions', '0003_issuance_holders', '0004_rate_windows', '0005_replica_leases', '0006_audit_checkpoints']);
  });

  it('when a store is reopened, then no migration runs again and what was written is still there', async () => {
    const first = await openStore(database.url);
    const record = await first.audit.append(grantedRecord());
    await first.replay.acceptOnce('https://ci.example.com', 'run-1', new Date(Date.now() + 60_000));
    await first.close();

    const again = await openStore(database.url);
    try {
      expect((await again.audit.list({})).items).toEqual([record]);
      expect(await again.audit.verify()).toEqual({ ok: true, count: 1 });
      expect(await again.replay.acceptOnce('https://ci.example.com', 'run-1', new Date(Date.now() + 60_000))).toBe(false);
    } finally {
      await again.close();
    }
    expect(await database.raw('select name from kysely_migration')).toHaveLength(6);
  });

  it('when several processes open a new database at once, then each one opens it and the schema is made once', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => inAnotherProcess<number[]>(database.url, 'append', '2', 'web-deploy')));
    expect(ids.flat().toSorted((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await database.raw('select name from kysely_migration')).toHaveLength(6);
  });
});

describe('openStore', () => {
  it('when the URL is sqlite::memory:, then it serves a private in-memory store', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await store.audit.append(grantedRecord());
      expect(await store.audit.verify()).toEqual({ ok: true, count: 1 });
    } finally {
      await store.close();
    }
  });

  it('when the URL names no supported engine, then opening fails naming the scheme but not the secret', async () => {
    const opening = openStore('mysql://kubevend:hunter2@db.example.com/kubevend');
    await expect(opening).rejects.toThrow(/unsupported database URL \(scheme mysql:\)/);
    await expect(opening).rejects.not.toThrow(/hunter2/);
  });

  it('when PostgreSQL cannot be reached, then opening fails with the reason', async () => {
    await expect(openStore('postgres://postgres@127.0.0.1:1/kubevend')).rejects.toThrow(/cannot bring the postgres store's schema up to date: .*ECONNREFUSED/);
  });
});
