import { recordHash } from '../../src/store/audit-chain.ts';
import type { Store } from '../../src/store/ports.ts';
import type { FreshDatabase } from './store.ts';

/**
 * What an attacker with write access to the database can do: change records from `fromId` on,
 * recompute every hash after them and move the head, so that the chain alone verifies.
 */
export async function rewriteFrom(store: Store, database: Pick<FreshDatabase, 'raw'>, fromId: number, namespace = 'kube-system') {
  const head = await store.audit.head();
  let prevHash = (await store.audit.get(fromId))!.prevHash;
  for (let id = fromId; id <= head.size; id++) {
    const record = (await store.audit.get(id))!;
    const forged = { ...record, namespace, prevHash };
    forged.hash = recordHash(prevHash, forged);
    await database.raw(`update audit_records set namespace = '${namespace}', prev_hash = '${prevHash}', hash = '${forged.hash}' where id = ${record.id}`);
    prevHash = forged.hash;
  }
  await database.raw(`update audit_chain set head_hash = '${prevHash}' where id = 1`);
}
