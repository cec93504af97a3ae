import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { openStore } from '../store/open.ts';
import type { ChainVerification } from '../store/ports.ts';
import { checkpointSchema } from './checkpoint.ts';
import { receiptSchema, verifyReceipt } from './receipt.ts';
import { loadPublicKeys, loadSigningKey, type PublicKeys } from './signing-key.ts';
import { verifyCheckpoint } from './verify.ts';

export const verifyUsage = `usage: audit:verify [--checkpoint FILE] [--keys FILE]      the ledger (KUBEVEND_DATABASE_URL); with a checkpoint, that it still extends it
       audit:verify --receipt FILE [--keys FILE]              a receipt, offline
--keys: PEM public keys; by default the public half of KUBEVEND_AUDIT_SIGNING_KEY_FILE and KUBEVEND_AUDIT_PUBLIC_KEYS_FILE`;

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The audit ledger's verify command, for `npm run audit:verify` and any other command line: 0 when
 * what was asked holds, 1 when it does not (saying where), 2 when it cannot run.
 */
export async function runAuditVerify(args: string[], env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  let options;
  try {
    options = parseArgs({ args, options: { checkpoint: { type: 'string' }, receipt: { type: 'string' }, keys: { type: 'string' }, help: { type: 'boolean' } } }).values;
  } catch (err) {
    io.err(`${(err as Error).message}\n${verifyUsage}`);
    return 2;
  }
  if (options.help) {
    io.out(verifyUsage);
    return 0;
  }
  let keys: PublicKeys;
  let document: unknown;
  try {
    keys = options.checkpoint || options.receipt ? await keysFrom(options.keys, env) : new Map();
    const file = options.receipt ?? options.checkpoint;
    document = file === undefined ? undefined : JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    io.err(`audit:verify: ${(err as Error).message}`);
    return 2;
  }
  if (options.receipt) {
    const receipt = receiptSchema.safeParse(document);
    if (!receipt.success) return io.err(`audit:verify: ${options.receipt} is not a receipt: ${receipt.error.issues[0]?.message}`), 2;
    const result = verifyReceipt(receipt.data, keys);
    if (result.ok) io.out(`receipt valid: record ${result.recordId} is in the ledger as signed at checkpoint ${result.checkpointSize} (key ${receipt.data.checkpoint.keyId})`);
    else io.out(`receipt INVALID for record ${result.recordId} (${result.problem}): ${result.detail}`);
    return result.ok ? 0 : 1;
  }
  const checkpoint = document === undefined ? undefined : checkpointSchema.safeParse(document);
  if (checkpoint && !checkpoint.success) return io.err(`audit:verify: ${options.checkpoint} is not a checkpoint: ${checkpoint.error.issues[0]?.message}`), 2;
  let store;
  try {
    store = await openStore(env.KUBEVEND_DATABASE_URL ?? 'sqlite://kubevend.db');
  } catch (err) {
    io.err(`audit:verify: cannot open the store: ${(err as Error).message}`);
    return 2;
  }
  let result: ChainVerification | Awaited<ReturnType<typeof verifyCheckpoint>>;
  try {
    result = checkpoint ? await verifyCheckpoint(store.audit, checkpoint.data, keys) : await store.audit.verify();
  } finally {
    await store.close();
  }
  if (!result.ok) {
    io.out(`audit ledger BROKEN at record ${result.recordId} (${result.problem}): ${result.detail}; ${result.count} records verified before it`);
    return 1;
  }
  io.out(`audit ledger intact: ${result.count} records verified${checkpoint ? `; it extends the checkpoint at ${checkpoint.data.size} records (key ${checkpoint.data.keyId})` : ''}`);
  return 0;
}

async function keysFrom(file: string | undefined, env: NodeJS.ProcessEnv): Promise<PublicKeys> {
  if (file) return loadPublicKeys(file);
  const keys = new Map();
  if (env.KUBEVEND_AUDIT_PUBLIC_KEYS_FILE) for (const [id, key] of await loadPublicKeys(env.KUBEVEND_AUDIT_PUBLIC_KEYS_FILE)) keys.set(id, key);
  if (env.KUBEVEND_AUDIT_SIGNING_KEY_FILE) {
    const key = await loadSigningKey(env.KUBEVEND_AUDIT_SIGNING_KEY_FILE);
    keys.set(key.keyId, key.publicKey);
  }
  if (keys.size === 0) throw new Error('no public keys: pass --keys FILE (GET /v1/audit/keys lists them)');
  return keys;
}
