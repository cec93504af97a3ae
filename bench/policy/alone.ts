// node bench/policy/alone.ts: scenario 7 alone, without the control plane, PostgreSQL or a build
// (it needs none of them). Prints its target rows and section as npm run bench writes them into
// BENCHMARKS.md, and keeps the results in .kubevend/bench/policy.json. BENCH_QUICK=1 and
// BENCH_POLICY_SIZES=100,1000 as for the whole run.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { policySection, policyTargets } from '../lib/report-policy.ts';
import { log } from '../lib/context.ts';
import { policy } from '../scenarios/policy.ts';

const root = join(import.meta.dirname, '..', '..');
const before = loadavg()[0]!;
const result = await policy({ quick: process.env.BENCH_QUICK === '1' });
// Nothing else of the run shares the machine here, but other work may: say how busy it was.
log(`one-minute load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
await mkdir(join(root, '.kubevend', 'bench'), { recursive: true });
await writeFile(join(root, '.kubevend', 'bench', 'policy.json'), JSON.stringify(result, null, 1));
process.stdout.write(`${[...policyTargets(result), '', ...policySection(result)].join('\n')}\n`);
