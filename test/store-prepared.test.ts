import { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { dialectFor } from '../src/store/open.ts';
import { preparedInsert, preparedQuery } from '../src/store/prepared.ts';
import type { Database } from '../src/store/schema.ts';
import { engines, freshStore } from './helpers/store.ts';

describe.each(engines)('prepared queries on $name', (engine) => {
  const t = freshStore(engine);

  it('when a prepared query runs, then the database gets the SQL and parameters kysely itself would send', async () => {
    const sent: { sql: string; parameters: unknown[] }[] = [];
    const db = new Kysely<Database>({
      dialect: dialectFor(t.database.url).dialect,
      log: (event) => void sent.push({ sql: event.query.sql, parameters: [...event.query.parameters] }),
    });
    try {
      const activate = preparedQuery<'id' | 'jti'>(db, (param) =>
        db.updateTable('issuances').set({ state: 'active', kube_token_jti: param('jti') }).where('id', '=', param('id')).where('state', '=', 'pending'),
      );
      await activate({ id: 'iss-1', jti: null });
      await db.updateTable('issuances').set({ state: 'active', kube_token_jti: null }).where('id', '=', 'iss-1').where('state', '=', 'pending').execute();
      const insert = preparedInsert(db, 'replay');
      expect(Number((await insert({ issuer: 'ci', jti: 'run-1', expires_at_ms: 5 })).numAffectedRows)).toBe(1);
      await db.insertInto('replay').values({ issuer: 'ci', jti: 'run-1', expires_at_ms: 5 }).onConflict((oc) => oc.doNothing()).execute();
      const [prepared, built] = [sent[0]!, sent[1]!];
      expect(prepared).toEqual(built);
      expect(sent[2]!.parameters).toEqual(['ci', 'run-1', 5]);
      expect(sent[3]!.sql.startsWith(sent[2]!.sql)).toBe(true);
      await expect(activate({ id: 'iss-1' } as never)).rejects.toThrow('no value for "jti"');
    } finally {
      await db.destroy();
    }
  });
});
