import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, evaluateByScan } from '../../src/policy/decide.ts';
import { parsePolicy, readPolicyYaml } from '../../src/policy/load.ts';
import { nameGuardProblems } from '../../src/policy/name-guards.ts';
import { indexPipelines } from '../../src/policy/pipeline-index.ts';
import { policySchema } from '../../src/policy/schema.ts';
import { watchPolicyFile } from '../../src/policy/watch.ts';
import { summarise, type Latency } from '../lib/stats.ts';
import { largeOrgPolicy } from './large-org.ts';

// node bench/policy/measure.ts SIZE WAY DECIDE_MS LOADS: one policy size, one way of deciding
// (`indexed`, as kubevend decides, or `scan`, trying every pipeline), in a process of its own so
// that neither inherits the other's garbage. Prints one JSON line: LOADS timed loads and hot
// reloads, and decisions timed one by one for jobs that are granted and jobs that are refused.

const size = Number(process.argv[2]);
const way = process.argv[3] === 'scan' ? evaluateByScan : evaluate;
const [decideMs, loads] = process.argv.slice(4).map(Number) as [number, number];
const dir = await mkdtemp(join(tmpdir(), 'kubevend-policy-'));
const keyFile = join(dir, 'ci.secret');
await writeFile(keyFile, randomBytes(32));
const org = largeOrgPolicy(size, keyFile);
const file = join(dir, 'policy.yaml');
await writeFile(file, org.text);

const time = <T>(work: () => T): [T, number] => {
  const started = performance.now();
  const result = work();
  return [result, performance.now() - started];
};

// Loading: parsePolicy as a whole, then its parts apart (YAML, schema, name guards, index).
const load = { parseMs: [] as number[], yamlMs: [] as number[], schemaMs: [] as number[], guardsMs: [] as number[], indexMs: [] as number[] };
let policy = await parsePolicy(file, org.text);
for (let i = 0; i < loads; i++) {
  const started = performance.now();
  policy = await parsePolicy(file, org.text);
  load.parseMs.push(performance.now() - started);
  const [raw, yamlMs] = time(() => readPolicyYaml(file, org.text));
  const [parsed, schemaMs] = time(() => policySchema.parse(raw));
  const [problems, guardsMs] = time(() => nameGuardProblems(parsed));
  if (problems.length) throw new Error(`the generated policy does not load: ${problems[0]}`);
  const [, indexMs] = time(() => indexPipelines(parsed.pipelines));
  load.yamlMs.push(yamlMs);
  load.schemaMs.push(schemaMs);
  load.guardsMs.push(guardsMs);
  load.indexMs.push(indexMs);
}

// Hot reload: from writing a changed file to the watcher serving it (after its debounce, which the load overlaps).
const reloadMs: number[] = [];
let swapped: (() => void) | undefined;
const watcher = await watchPolicyFile(file, { onReload: (ok) => ok && swapped?.() });
for (let i = 0; i < loads; i++) {
  const before = watcher.status().version;
  const started = performance.now();
  const served = new Promise<void>((resolve) => (swapped = () => watcher.status().version !== before && resolve()));
  await writeFile(file, `${org.text}# reload ${i}\n`);
  await served;
  reloadMs.push(performance.now() - started);
  // Let the watcher's later events (one write can raise several) settle before the next write.
  await new Promise((r) => setTimeout(r, 400));
}
watcher.close();
await rm(dir, { recursive: true, force: true });

// Decisions, one timed at a time, granted and refused jobs in alternation over a few rounds.
const suspensions = { isSuspended: () => false };
const jobs = { grant: org.grants, refusal: org.refusals } as const;
type Cell = { samples: number[]; elapsedMs: number; wrong: number };
const cells: Record<keyof typeof jobs, Cell> = { grant: { samples: [], elapsedMs: 0, wrong: 0 }, refusal: { samples: [], elapsedMs: 0, wrong: 0 } };
const run = (kind: keyof typeof jobs, ms: number, cell?: Cell) => {
  const until = performance.now() + ms;
  for (let n = 0; performance.now() < until; n++) {
    const identity = jobs[kind][n % jobs[kind].length]!;
    const started = performance.now();
    const result = way(policy, { identity, ask: {}, suspensions });
    const took = performance.now() - started;
    if (!cell) continue;
    cell.samples.push(took);
    cell.elapsedMs += took;
    if ((kind === 'grant') !== (result.decision !== undefined)) cell.wrong++;
  }
};
// Warm-up: past the point where V8 optimises the decision (npm start tiers up after 300 calls).
for (const kind of ['grant', 'refusal'] as const) run(kind, decideMs / 10);
const rounds = 4;
for (let round = 0; round < rounds; round++) for (const kind of ['grant', 'refusal'] as const) run(kind, decideMs / rounds / 2, cells[kind]);
const decisions = Object.fromEntries(Object.entries(cells).map(([kind, cell]) => {
  const ms = summarise(cell.samples);
  const latencyUs: Latency = { count: ms.count, p50: ms.p50 * 1000, p90: ms.p90 * 1000, p99: ms.p99 * 1000, max: ms.max * 1000, mean: ms.mean * 1000 };
  // Decisions a second over the time spent deciding alone; `wrong`: the generator's own check.
  return [kind, { perSecond: cell.samples.length / (cell.elapsedMs / 1000), latencyUs, wrong: cell.wrong }];
}));
const heapUsedMb = process.memoryUsage().heapUsed / 2 ** 20;
process.stdout.write(`${JSON.stringify({ size, yamlBytes: Buffer.byteLength(org.text), load: { ...load, reloadMs }, decisions, heapUsedMb })}\n`);
