import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/ports.ts';

/** A new, empty database of one engine, and the way to throw it away. */
export interface FreshDatabase {
  url: string;
  /** Runs SQL on the database behind the store's back, as a person with a database shell could. */
  raw(sql: string): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
}

export interface Engine {
  name: 'sqlite' | 'postgres';
  fresh(): Promise<FreshDatabase>;
}

const sqlite: Engine = {
  name: 'sqlite',
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), 'kubevend-store-'));
    const file = join(dir, 'kubevend.db');
    return {
      url: `sqlite://${file}`,
      async raw(sql) {
        const db = new DatabaseSync(file, { timeout: 5_000 });
        try {
          const statement = db.prepare(sql);
          return statement.columns().length > 0 ? statement.all() : (statement.run(), []);
        } finally {
          db.close();
        }
      },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

const postgres: Engine = {
  name: 'postgres',
  async fresh() {
    const name = `test_${randomBytes(6).toString('hex')}`;
    await onPostgres(inject('databaseUrl'), `create database ${name}`);
    const url = new URL(inject('databaseUrl'));
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      raw: (sql) => onPostgres(url.toString(), sql),
      drop: async () => void (await onPostgres(inject('databaseUrl'), `drop database ${name} with (force)`)),
    };
  },
};

async function onPostgres(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Every store test runs on both engines. */
export const engines: Engine[] = [sqlite, postgres];

const worker = join(import.meta.dirname, 'store-worker.ts');

/** Runs `store-worker.ts` in a process of its own against the database at `url`; its JSON answer. */
export function inAnotherProcess<T>(url: string, command: string, ...args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [worker, url, command, ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`store worker ${command} failed: ${stderr}`, { cause: err }));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/** A fresh database with a store open on it, for each test (`each`) or for the whole `describe`. */
export function freshStore(engine: Engine, scope: 'each' | 'all' = 'each'): { database: FreshDatabase; store: Store } {
  const current = {} as { database: FreshDatabase; store: Store };
  (scope === 'each' ? beforeEach : beforeAll)(async () => {
    current.database = await engine.fresh();
    current.store = await openStore(current.database.url);
  });
  (scope === 'each' ? afterEach : afterAll)(async () => {
    await current.store?.close();
    await current.database?.drop();
  });
  return current;
}
