// Verifies the audit ledger (`npm run audit:verify`), with the server's KUBEVEND_DATABASE_URL: its
// hash chain; with --checkpoint, that it still extends a signed checkpoint saved earlier; with
// --receipt, a receipt offline. Exit 0 when it holds; 1 where it does not; 2 when it cannot run.
import { runAuditVerify } from '../ledger/verify-command.ts';

process.exitCode = await runAuditVerify(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
