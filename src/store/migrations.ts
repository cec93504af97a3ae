import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { genesisHash } from './schema.ts';

// Forward-only and numbered; the same code for SQLite and PostgreSQL (the schema builder and
// portable types only). A migration never changes once released: add the next number instead.
// Migrations see an untyped database, since the schema they start from is older than schema.ts.
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_records')
        .addColumn('id', 'bigint', (c) => c.primaryKey())
        .addColumn('time_ms', 'bigint', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason_code', 'text')
        .addColumn('reason', 'text')
        .addColumn('client_address', 'text')
        .addColumn('issuer', 'text')
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('claim_repository', 'text')
        .addColumn('claim_project', 'text')
        .addColumn('pipeline', 'text')
        .addColumn('grant_name', 'text')
        .addColumn('cluster', 'text')
        .addColumn('namespace', 'text')
        .addColumn('service_account', 'text')
        .addColumn('objects', 'text', (c) => c.notNull())
        .addColumn('requested_ttl_seconds', 'integer')
        .addColumn('actual_ttl_seconds', 'integer')
        .addColumn('audiences', 'text', (c) => c.notNull())
        .addColumn('token_kind', 'text')
        .addColumn('kube_token_jti', 'text')
        .addColumn('token_fingerprint', 'text')
        .addColumn('issuance_id', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      for (const column of ['time_ms', 'pipeline', 'claim_repository', 'claim_project', 'cluster', 'issuance_id']) {
        await db.schema.createIndex(`audit_records_${column}`).on('audit_records').columns([column, 'id']).execute();
      }

      await db.schema
        .createTable('audit_chain')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('last_id', 'bigint', (c) => c.notNull())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .addColumn('anchor_id', 'bigint', (c) => c.notNull())
        .addColumn('anchor_hash', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into audit_chain (id, last_id, head_hash, anchor_id, anchor_hash)
                values (1, 0, ${genesisHash}, 0, ${genesisHash})`.execute(db);

      await db.schema
        .createTable('replay')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('replay_pk', ['issuer', 'jti'])
        .execute();
      await db.schema.createIndex('replay_expires_at_ms').on('replay').column('expires_at_ms').execute();

      await db.schema
        .createTable('issuances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('service_account', 'text', (c) => c.notNull())
        .addColumn('token_kind', 'text', (c) => c.notNull())
        .addColumn('kube_token_jti', 'text')
        .addColumn('objects', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('revoked_at_ms', 'bigint')
        .addColumn('revoked_by', 'text')
        .addColumn('expired_at_ms', 'bigint')
        .execute();
      await db.schema.createIndex('issuances_created').on('issuances').columns(['created_at_ms', 'id']).execute();
      await db.schema.createIndex('issuances_due').on('issuances').columns(['state', 'expires_at_ms']).execute();
      await db.schema.createIndex('issuances_pipeline').on('issuances').columns(['pipeline', 'created_at_ms']).execute();
    },
  },
  '0002_suspensions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('suspensions')
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('suspended_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('suspended_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addPrimaryKeyConstraint('suspensions_pk', ['pipeline', 'cluster'])
        .execute();
      await db.schema.createIndex('issuances_holder').on('issuances').columns(['issuer', 'subject', 'created_at_ms']).execute();
    },
  },
  '0003_issuance_holders': {
    async up(db: Kysely<unknown>) {
      // The holder is a key of its own (issuer and subject alone do not tell repositories apart).
      await db.schema.dropIndex('issuances_holder').execute();
      await db.schema.alterTable('issuances').addColumn('holder', 'text').execute();
      await db.schema.createIndex('issuances_holder_key').on('issuances').columns(['holder', 'created_at_ms']).execute();
    },
  },
  '0004_rate_windows': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rate_windows')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('window_start_ms', 'bigint', (c) => c.notNull())
        .addColumn('window_end_ms', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('rate_windows_pk', ['key', 'window_start_ms'])
        .execute();
      await db.schema.createIndex('rate_windows_end').on('rate_windows').column('window_end_ms').execute();
    },
  },
  '0005_replica_leases': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('issuances').addColumn('owner', 'text').execute();
      await db.schema
        .createTable('replica_leases')
        .addColumn('replica', 'text', (c) => c.primaryKey())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0006_audit_checkpoints': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('size', 'bigint', (c) => c.primaryKey())
        .addColumn('from_size', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
