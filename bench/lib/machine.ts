import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { kubectl, type BenchContext } from './context.ts';

// What the figures were measured on.

const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

export async function describeMachine(ctx: BenchContext) {
  const kube = JSON.parse(await kubectl(ctx, ['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
  const postgres = ctx.databaseUrl ? await postgresVersion(ctx.databaseUrl) : 'not used';
  const memory = new DatabaseSync(':memory:');
  const sqlite = (memory.prepare('select sqlite_version() as v').get() as { v: string }).v;
  memory.close();
  return {
    cores: cpus().length,
    memoryGb: totalmem() / 1024 ** 3,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kubernetes: kube.serverVersion.gitVersion,
    postgres,
    sqlite,
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
  };
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('show server_version')).rows[0].server_version as string;
  } finally {
    await client.end();
  }
}

export type Machine = Awaited<ReturnType<typeof describeMachine>>;
