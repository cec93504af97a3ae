import { readFile, writeFile } from 'node:fs/promises';
import type { BurstResult } from '../scenarios/burst.ts';
import type { LedgerResult, LedgerStep } from '../scenarios/ledger.ts';
import type { DurableResult } from '../scenarios/durable.ts';
import type { MemoryPoint, MemoryResult } from '../scenarios/memory.ts';
import type { PolicyResult } from '../scenarios/policy.ts';
import type { ServiceResult } from '../scenarios/service.ts';
import type { SoakResult } from '../scenarios/soak.ts';
import type { StartupResult } from '../scenarios/startup.ts';
import type { Layout, UpstreamResult } from '../scenarios/upstream.ts';
import type { Machine } from './machine.ts';
import { burstSection, soakSection } from './report-fleet.ts';
import { policySection, policyTargets } from './report-policy.ts';
import type { Latency } from './stats.ts';

// BENCHMARKS.md: every figure comes from the run's results; the hand-written analysis between the
// markers is carried over from the file as it was.

export interface Results {
  startedAt: string;
  durationMs: number;
  quick: boolean;
  command: string;
  /** The machine's one-minute load average before and after the run: what else was running. */
  loadAverage: { before: number; after: number };
  machine?: Machine;
  upstream?: UpstreamResult;
  service?: ServiceResult;
  ledger?: LedgerResult;
  memory?: MemoryResult;
  durable?: DurableResult;
  startup?: StartupResult;
  policy?: PolicyResult;
  burst?: BurstResult;
  soak?: SoakResult;
  /** Scenarios that failed, with the reason. */
  errors: Record<string, string>;
}

const BEGIN = '<!-- analysis:begin (hand-written; npm run bench keeps it) -->';
const END = '<!-- analysis:end -->';

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const rate = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const times = (v: number) => `${v.toFixed(2)}×`;
const signed = (v: number) => `${v >= 0 ? '+' : ''}${ms(v)}`;

/** The range of the per-round ratios and added p50s, where there is more than one round. */
function spread(byRound: { ratio: number; addedP50: number }[]): string {
  if (byRound.length < 2) return '';
  const range = (values: number[], show: (v: number) => string) => `${show(Math.min(...values))} to ${show(Math.max(...values))}`;
  return ` Round by round (each beside the direct round before it): ${range(byRound.map((r) => r.ratio), times)}, ${range(byRound.map((r) => r.addedP50), signed)} ms at p50.`;
}
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const count = (n: number) => n.toLocaleString('en-US');
const check = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**');
const failures = (f: Record<string, number>) => (Object.keys(f).length ? Object.entries(f).map(([k, v]) => `${k}: ${v}`).join(', ') : 'none');
const latencyCells = (l: Latency) => `${ms(l.p50)} | ${ms(l.p99)}`;
const where = (layout: Layout) => (layout.shared ? 'cores shared' : `control plane on CPU ${layout.controlPlane}, the rest on CPU ${layout.clients}`);

function targets(r: Results): string[] {
  const rows: string[] = ['| # | target | measured | |', '| --- | --- | --- | --- |'];
  for (const u of r.upstream?.levels ?? [{ connections: undefined, layout: { shared: true } as const, ratio: NaN, addedP50: NaN }]) {
    const measured = u.connections === undefined ? 'n/a' : `${u.connections} at a time, ${where(u.layout)}: ${times(u.ratio)}, ${u.addedP50 >= 0 ? '+' : ''}${ms(u.addedP50)} ms at p50`;
    rows.push(`| 1 | throughput ≥ 0.9 × direct, ≤ 2 ms added at p50 | ${measured} | ${check(u.connections === undefined ? undefined : u.ratio >= 0.9 && u.addedP50 <= 2)} |`);
  }
  const s = r.service;
  rows.push(`| 2 | throughput ≥ 0.5 × the bare route | ${s ? `${times(s.ratio)} (${ms(s.kubevend.cpuMsPerRequest)} ms CPU an issuance)` : 'n/a'} | ${check(s && s.ratio >= 0.5)} |`);
  rows.push(`| 2 | with signed checkpoints and a fail-closed sink, throughput ≥ 0.9 × without (same run) | ${s ? `${times(s.audit.ratio)}, ${ms(s.kubevend.cpuMsPerRequest)} vs ${ms(s.withoutAudit.cpuMsPerRequest)} ms CPU an issuance` : 'n/a'} | ${check(s && s.audit.ratio >= 0.9)} |`);
  const l = r.ledger;
  for (const [engine, steps] of Object.entries(l?.engines ?? {})) {
    // The target is the page's own latency: one request at a time.
    const one = (step: LedgerStep | undefined) => step?.loads.find((x) => x.connections === 1)?.latency;
    const [first, last] = [one(steps[0]), one(steps.at(-1))];
    const records = steps.at(-1)?.records ?? 0;
    const growth = first && last ? Math.max(last.p50 / first.p50, last.p99 / first.p99) : NaN;
    const measured = last ? `p99 ${ms(last.p99)} ms at ${count(records)}; growth ${times(growth)} (larger of p50, p99), one at a time` : 'n/a';
    rows.push(`| 3 | ${engine}: p99 < 10 ms at 1,000,000 records, ≤ 2× growth from 1,000 | ${measured} | ${check(last && records >= 1_000_000 ? last.p99 < 10 && growth <= 2 : undefined)} |`);
  }
  const m = r.memory;
  rows.push(`| 4 | RSS < 150 MB, < 5 % growth from 10 to 100 thousand issuances | ${m ? `${ms(m.last.rssMb)} MB at ${count(m.last.issuances)}, ${(m.growth * 100).toFixed(1)} % from ${count(m.first.issuances)}` : 'n/a'} | ${check(m && m.last.issuances >= 10 * m.step - m.step / 10 ? m.last.rssMb < 150 && m.growth < 0.05 : undefined)} |`);
  // The figures above are kubevend with the zero-latency gateway; the real server loads the Kubernetes client too.
  if (m?.server) {
    rows.push(`| 4 | the real server (Kubernetes client loaded), RSS < 150 MB | ${ms(m.server.readyRssMb)} MB when ready, ${ms(m.server.rssMb)} MB after ${count(m.server.issued)} issuances against the API server (100,000 not run) | ${check(m.server.rssMb < 150)} |`);
  }
  const d = r.durable;
  rows.push(`| 5 | durable token ≤ 50 ms over the token controller | ${d ? `${d.addedP50 >= 0 ? '+' : ''}${ms(d.addedP50)} ms at p50` : 'n/a'} | ${check(d && d.addedP50 <= 50)} |`);
  const st = r.startup;
  rows.push(`| 6 | start to /readyz < 1.5 s | ${st ? `${ms(st.built.max)} ms at most (npm start, the compile cache filled as the image fills it)` : 'n/a'} | ${check(st && st.built.max < 1500)} |`);
  rows.push(...policyTargets(r.policy));
  return rows;
}

/** CPU ms an issuance by process, side by side: where the shared cores went. */
function cpuTable(sides: Record<string, Record<string, number>>): string[] {
  const names = [...new Set(Object.values(sides).flatMap((side) => Object.keys(side)))];
  const cell = (v: number | undefined) => (v === undefined ? '–' : ms(v));
  const total = (side: Record<string, number>) => Object.values(side).reduce((a, b) => a + b, 0);
  return [
    'CPU time an issuance, by process (ms; servers metered from /proc over whole runs, warm-up included, less what each spends idle; clients by their own `process.cpuUsage()`):', '',
    `| process | ${Object.keys(sides).join(' | ')} |`, `| --- |${' --- |'.repeat(Object.keys(sides).length)}`,
    ...names.map((n) => `| ${n} | ${Object.values(sides).map((side) => cell(side[n])).join(' | ')} |`),
    `| all | ${Object.values(sides).map((side) => ms(total(side))).join(' | ')} |`, '',
  ];
}

function sections(r: Results): string[] {
  const out: string[] = [];
  const up = r.upstream;
  if (up) {
    out.push('## 1. Upstream-bound: short-lived credentials against the local API server', '',
      'Each issuance is an anchor Secret and a TokenRequest bound to it; nothing is deleted in the timed path. Direct: a Node process making the two calls with node:https over keep-alive connections. Gateway alone: the same calls through kubevend\'s own `KubeGateway` (node:https keep-alive connections, the kubeconfig read by @kubernetes/client-node), no HTTP service, no store. Through kubevend: `src/server.ts` built (`npm run build`), with `npm start`\'s options and its SQLite store, loaded by autocannon from another process'
      + `, after ${count(up.serverWarmup)} issuances (8 at a time, not measured) that warm the long-running server past V8's tier-up before the first round. The three alternate, round by round.`, '',
      'Each level runs twice. First every process shares every core: each millisecond kubevend spends is then taken from the API server, so the ratio weighs kubevend\'s CPU against the API server\'s. Then the control plane runs on cores of its own and kubevend, its load generator and the direct clients on the others (`taskset`), as in production, where kubevend does not run on the control plane\'s machines: the ratio then says how close kubevend comes to the API server\'s own limit. Apart, the direct calls have fewer cores for the API server and etcd, so they are slower than shared.', '');
    for (const u of up.levels) {
      out.push(`### ${u.connections} at a time, ${where(u.layout)} (${u.rounds} round(s) of ${count(u.amount)} after ${count(u.warmup)} warm-up, each side)`, '',
        '| | issuances/s | p50 ms | p99 ms | issued | failed |', '| --- | --- | --- | --- | --- | --- |',
        `| direct to the API server (baseline) | ${rate(u.baseline.throughput)} | ${latencyCells(u.baseline.latency)} | ${count(u.baseline.ok)} | ${failures(u.baseline.failures)} |`,
        `| kubevend's gateway alone | ${rate(u.gateway.throughput)} | ${latencyCells(u.gateway.latency)} | ${count(u.gateway.ok)} | ${failures(u.gateway.failures)} |`,
        `| through kubevend | ${rate(u.kubevend.throughput)} | ${latencyCells(u.kubevend.latency)} | ${count(u.kubevend.ok)} | ${failures(u.kubevend.failures)} |`,
        '', `Ratio ${times(u.ratio)}; kubevend adds ${ms(u.addedP50)} ms at p50.${spread(u.byRound)}`, '',
        ...cpuTable({ direct: u.baseline.cpuMsPerIssuance, 'gateway alone': u.gateway.cpuMsPerIssuance, 'through kubevend': u.kubevend.cpuMsPerIssuance }));
    }
  }
  const s = r.service;
  if (s) {
    out.push('## 2. Service-bound: kubevend\'s own cost', '',
      `kubevend wired as \`src/server.ts\` wires it (built, SQLite store, info logging) with a zero-latency gateway (\`bench/servers/null-gateway.ts\`), versus a bare Fastify route verifying the same RS256 token with jose. ${s.connections} connections, ${s.rounds} round(s) of ${count(s.amount)} after ${count(s.warmup)} warm-up. CPU: the server process's \`process.cpuUsage()\` over the measured requests.`, '',
      '| | requests/s | p50 ms | p99 ms | CPU ms a request | RSS MB after | failed |', '| --- | --- | --- | --- | --- | --- | --- |',
      `| bare route, JWT verification only (baseline) | ${rate(s.bare.throughput)} | ${latencyCells(s.bare.latency)} | ${ms(s.bare.cpuMsPerRequest)} | ${ms(s.bare.rssMb)} | ${failures(s.bare.failures)} |`,
      `| kubevend, zero-latency gateway | ${rate(s.kubevend.throughput)} | ${latencyCells(s.kubevend.latency)} | ${ms(s.kubevend.cpuMsPerRequest)} | ${ms(s.kubevend.rssMb)} | ${failures(s.kubevend.failures)} |`,
      `| the same without checkpoints or sink | ${rate(s.withoutAudit.throughput)} | ${latencyCells(s.withoutAudit.latency)} | ${ms(s.withoutAudit.cpuMsPerRequest)} | ${ms(s.withoutAudit.rssMb)} | ${failures(s.withoutAudit.failures)} |`,
      '', `Ratio to the bare route ${times(s.ratio)}. With checkpoints (every 1,000 records or 10 s) and a fail-closed file sink against without: ${times(s.audit.ratio)} the throughput, ${times(s.audit.cpuRatio)} the CPU an issuance; by round ${s.audit.byRound.map(times).join(', ')} (on and off in alternating order).`, '',
      `Where kubevend's CPU goes: a CPU profile (\`node --cpu-prof\`) of one more run like the above, ${ms(s.profile.busyMs / 1000)} s of busy main thread, start-up included, idle left out:`, '',
      '| self time by place | share | project functions, inclusive | share |', '| --- | --- | --- | --- |',
      ...s.profile.places.map(([place, share], i) => {
        const own = s.profile.ownInclusive[i];
        return `| ${place} | ${pct(share)} | ${own ? `\`${own[0]}\`` : ''} | ${own ? pct(own[1]) : ''} |`;
      }), '');
  }
  const l = r.ledger;
  if (l) {
    out.push('## 3. The audit ledger', '',
      `\`GET /v1/audit?pipeline=…&limit=100\` by an auditor through \`src/server.ts\` (built, \`npm start\`'s options): first pages of ten pipelines in turn (each holds a tenth of the ledger), ${count(l.amount)} requests after ${count(l.warmup)} warm-up, one at a time (an operator paging: the target's measure), then four at a time. Records are bulk-loaded with raw SQL in batches of 5,000, each batch one transaction that hashes with the store's own \`recordHash\` and moves the chain head; PostgreSQL gets \`VACUUM ANALYZE\`, a \`CHECKPOINT\` and its files flushed to disk after each load, so that the autovacuum, the checkpoint and the writeback that the load sets off do not overlap the measurement. "The query alone": the same page query through the bare driver (node:sqlite, pg) in the loading process, 1,000 times one at a time.`, '',
      '| engine | records | load time s | at a time | requests/s | p50 ms | p99 ms | failed | the query alone: p50, p99 ms | chain verified |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [engine, steps] of Object.entries(l.engines)) {
      for (const step of steps) {
        const verified = step.verification ? `${step.verification.ok ? 'ok' : 'BROKEN'}, ${count(step.verification.count)} records in ${ms(step.verification.ms / 1000)} s` : '';
        const records = `${count(step.records)}${step.records < step.target ? ` (of ${count(step.target)}: time ran out)` : ''}`;
        for (const [i, load] of step.loads.entries()) {
          out.push(`| ${engine} | ${i ? '' : records} | ${i ? '' : (step.loadMs / 1000).toFixed(1)} | ${load.connections} | ${rate(load.throughput)} | ${latencyCells(load.latency)} | ${failures(load.failures)} | ${i ? '' : `${ms(step.query.p50)}, ${ms(step.query.p99)}`} | ${i ? '' : verified} |`);
        }
      }
    }
    out.push('', 'Growth from the smallest to the largest ledger:', '');
    for (const [engine, steps] of Object.entries(l.engines)) {
      const [first, last] = [steps[0], steps.at(-1)];
      if (!first || !last) continue;
      for (const load of last.loads) {
        const before = first.loads.find((x) => x.connections === load.connections)!.latency;
        out.push(`- ${engine}, ${load.connections} at a time: p50 ${times(load.latency.p50 / before.p50)}, p99 ${times(load.latency.p99 / before.p99)} (${count(first.records)} → ${count(last.records)} records)`);
      }
    }
    out.push('', 'Query plans of the page query at the largest size (first page; a page deep in the ledger, by cursor):', '');
    for (const [engine, steps] of Object.entries(l.engines)) {
      const plans = steps.at(-1)?.plans;
      if (!plans) continue;
      out.push(`${engine}: \`${plans.sql}\``, '', '```', ...plans.firstPage, '--- deep page', ...plans.deepPage, '```', '');
    }
  }
  const m = r.memory;
  if (m) {
    const table = (points: MemoryPoint[]) => [
      '| issuances | RSS MB | of which file-backed MB | V8 heap used MB | V8 heap committed MB | external MB | issuances/s in the step |', '| --- | --- | --- | --- | --- | --- | --- |',
      ...points.map((p) => `| ${count(p.issuances)} | ${ms(p.rssMb)} | ${ms(p.rssFileMb)} | ${ms(p.heapUsedMb)} | ${ms(p.heapTotalMb)} | ${ms(p.externalMb)} | ${rate(p.throughput)} |`),
    ];
    out.push('## 4. Memory', '',
      `One kubevend process with the zero-latency gateway (\`bench/servers/kubevend-null-kube.ts\`, built as the server is) and a SQLite store, issuing in steps of ${count(m.step)} (10 connections); memory read over IPC (\`process.memoryUsage()\`, file-backed pages from /proc) a second after each step, no forced GC. External: memory outside the V8 heap that its objects hold (Buffers), freed when they are collected.`, '',
      ...table(m.points),
      '', `Growth from ${count(m.first.issuances)} to ${count(m.last.issuances)}: ${(m.growth * 100).toFixed(1)} %.`,
      ...(m.server ? ['', `The real server (built, \`npm start\`'s options, the Kubernetes client loaded) against the API server: ${ms(m.server.readyRssMb)} MB resident when ready, ${ms(m.server.rssMb)} MB (${ms(m.server.rssFileMb)} MB file-backed) after ${count(m.server.issued)} short-lived issuances (${rate(m.server.throughput)}/s, 10 connections).`] : []),
      ...(r.upstream ? ['', `For comparison, the real server of scenario 1 (built, the Kubernetes client loaded) held ${ms(r.upstream.server.rssMb)} MB resident after ${count(r.upstream.server.issued)} issuances against the API server.`] : []), '');
  }
  const d = r.durable;
  if (d) {
    out.push('## 5. Durable tokens', '',
      `One request at a time, ${d.rounds} alternating round(s) of ${d.count}, each after a 2 s pause: kube-controller-manager's client is rate-limited (by default 20 requests/s in bursts of 30; a fill costs it two), so sustained fills queue behind that limit for everyone, and the pauses keep both sides measuring the fill itself. Controller: a \`kubernetes.io/service-account-token\` Secret created directly, then watched from its creation version until the token controller fills it. kubevend: \`POST /v1/credentials {"kind":"durable"}\` through \`src/server.ts\` built (\`npm run build\`) (anchor Secret, token Secret, watch).`, '',
      '| | p50 ms | p99 ms | samples | failed |', '| --- | --- | --- | --- | --- |',
      `| token controller, direct (baseline) | ${latencyCells(d.controller.latency)} | ${count(d.controller.ok)} | ${failures(d.controller.failures)} |`,
      `| through kubevend | ${latencyCells(d.kubevend.latency)} | ${count(d.kubevend.ok)} | ${failures(d.kubevend.failures)} |`,
      '', `kubevend adds ${ms(d.addedP50)} ms at p50.`, '');
  }
  const st = r.startup;
  if (st) {
    const all = (list: number[]) => list.map((v) => v.toFixed(0)).join(', ');
    out.push('## 6. Start-up', '', `Spawn to the first 200 from \`/readyz\` of the built server with \`npm start\`'s options, ${st.times} starts of each variant in alternation, each on a new SQLite file (schema created at start).`, '',
      '| variant | p50 ms | max ms | every start, ms | RSS MB at ready, at most |', '| --- | --- | --- | --- | --- |',
      `| compile cache filled beforehand by \`dist/server/cli/warm-compile-cache.js\` (as the image) | ${ms(st.built.p50)} | ${ms(st.built.max)} | ${all(st.built.all)} | ${ms(st.built.rssMb)} |`,
      `| \`NODE_DISABLE_COMPILE_CACHE=1\` | ${ms(st.noCompileCache.p50)} | ${ms(st.noCompileCache.max)} | ${all(st.noCompileCache.all)} | ${ms(st.noCompileCache.rssMb)} |`, '');
  }
  if (r.policy) out.push(...policySection(r.policy));
  if (r.burst) out.push(...burstSection(r.burst));
  if (r.soak) out.push(...soakSection(r.soak));
  return out;
}

export async function writeReport(file: string, r: Results): Promise<void> {
  const previous = await readFile(file, 'utf8').catch(() => '');
  const begin = previous.indexOf(BEGIN);
  const end = previous.indexOf(END);
  const analysis = begin >= 0 && end > begin ? previous.slice(begin + BEGIN.length, end).trim() : '_No analysis written yet._';
  const m = r.machine;
  const lines = [
    '# Benchmarks', '',
    `Generated by \`${r.command}\`${r.quick ? ' (BENCH_QUICK=1: a reduced run)' : ''} on ${r.startedAt.slice(0, 10)}; the run took ${(r.durationMs / 60_000).toFixed(1)} min. Everything outside the analysis section is rewritten by each run.`, '',
    ...(m ? [
      `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb.toFixed(1)} GB memory; the load generator, kubevend and the control plane share the cores, which is why every figure stands beside a baseline measured in the same run.`, '',
      `Other load on the machine: one-minute load average ${r.loadAverage.before.toFixed(1)} before the run, ${r.loadAverage.after.toFixed(1)} after it.`, '',
      `Versions: Node ${m.node}, Kubernetes ${m.kubernetes}, PostgreSQL ${m.postgres}, SQLite ${m.sqlite}, Fastify ${m.fastify}, autocannon ${m.autocannon}.`, '',
    ] : []),
    'Latencies are per request as the client saw it, in ms; percentiles are over every sample.', '',
    '## Targets', '', ...targets(r), '',
    ...(Object.keys(r.errors).length ? ['## Scenarios that failed', '', ...Object.entries(r.errors).map(([k, v]) => `- ${k}: ${v}`), ''] : []),
    ...sections(r),
    '## Analysis', '', BEGIN, analysis, END, '',
  ];
  await writeFile(file, lines.join('\n'));
}
