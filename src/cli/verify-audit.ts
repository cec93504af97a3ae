// Verifies the audit ledger's hash chain: `node dist/cli/verify-audit.js` with the server's
// KUBEVEND_DATABASE_URL. Exit 0 when intact; 1 with the first broken link; 2 when it cannot run.
import { openStore } from '../store/open.ts';

const url = process.env.KUBEVEND_DATABASE_URL ?? 'sqlite://kubevend.db';
let store;
try {
  store = await openStore(url);
} catch (err) {
  process.stderr.write(`verify-audit: cannot open the store: ${(err as Error).message}\n`);
  process.exit(2);
}
const result = await store.audit.verify();
await store.close();
if (result.ok) {
  process.stdout.write(`audit ledger intact: ${result.count} records verified\n`);
} else {
  process.stdout.write(`audit ledger BROKEN at record ${result.recordId} (${result.problem}): ${result.detail}; ${result.count} records verified before it\n`);
  process.exitCode = 1;
}
