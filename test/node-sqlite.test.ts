import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNodeSqlite } from '../src/store/node-sqlite.ts';
import { scratchDir } from './helpers/kubevend.ts';

describe('openNodeSqlite', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let file: string;

  beforeEach(async () => {
    scratch = await scratchDir();
    file = join(scratch.dir, 'adapter.db');
  });

  afterEach(async () => {
    await scratch?.cleanup();
  });

  it('when a file is opened, then it is in WAL mode and reads, writes and RETURNING behave as kysely expects', () => {
    const db = openNodeSqlite(file);
    try {
      expect(db.prepare('pragma journal_mode').all([])).toEqual([{ journal_mode: 'wal' }]);
      const create = db.prepare('create table t (id integer primary key, name text)');
      expect(create.reader).toBe(false);
      create.run([]);

      const insert = db.prepare('insert into t (name) values (?)');
      expect(insert.reader).toBe(false);
      expect(insert.run(['a'])).toMatchObject({ changes: 1, lastInsertRowid: 1 });

      const returning = db.prepare('insert into t (name) values (?) returning id');
      expect(returning.reader).toBe(true);
      expect(returning.all(['b'])).toEqual([{ id: 2 }]);

      const select = db.prepare('select name from t where id >= ? order by id');
      expect(select.reader).toBe(true);
      expect([...select.iterate([1])]).toEqual([{ name: 'a' }, { name: 'b' }]);
    } finally {
      db.close();
    }
  });

  it('when another process holds the write lock for a moment, then a write waits for it instead of failing', async () => {
    const setup = openNodeSqlite(file);
    setup.prepare('create table t (id integer primary key)').run([]);
    setup.close();
    const holder = spawn(process.execPath, [
      '-e',
      `const db = new (require('node:sqlite').DatabaseSync)(${JSON.stringify(file)});
       db.exec('begin immediate; insert into t values (1)');
       console.log('locked');
       setTimeout(() => db.exec('commit'), 400);`,
    ]);
    await once(holder.stdout, 'data');
    const db = openNodeSqlite(file);
    try {
      const started = Date.now();
      expect(db.prepare('insert into t values (2)').run([])).toMatchObject({ changes: 1 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(db.prepare('select id from t order by id').all([])).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      db.close();
      await once(holder, 'exit');
    }
  });
});
