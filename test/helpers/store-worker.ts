// Another process using the same database, for the tests that need one:
//   store-worker.ts URL accept ISSUER JTI...      which of the jtis this process won (JSON array)
//   store-worker.ts URL append COUNT PIPELINE     appends COUNT records; their ids (JSON array)
import { openStore } from '../../src/store/open.ts';
import { grantedRecord } from './store-record.ts';

const [url, command, ...args] = process.argv.slice(2);
const store = await openStore(url!);
try {
  if (command === 'accept') {
    const [issuer, ...jtis] = args;
    const won: string[] = [];
    for (const jti of jtis) if (await store.replay.acceptOnce(issuer!, jti, new Date(Date.now() + 600_000))) won.push(jti);
    process.stdout.write(JSON.stringify(won));
  } else if (command === 'append') {
    const ids: number[] = [];
    for (let i = 0; i < Number(args[0]); i++) ids.push((await store.audit.append(grantedRecord({ pipeline: args[1]! }))).id);
    process.stdout.write(JSON.stringify(ids));
  } else {
    throw new Error(`unknown command ${command}`);
  }
} finally {
  await store.close();
}
