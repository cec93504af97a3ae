import type { BurstPipeline, BurstResult, BurstSide } from '../scenarios/burst.ts';
import type { SoakResult } from '../scenarios/soak.ts';
import type { ServerSample } from '../load/soak.ts';

// Scenarios 8 (a burst of jobs) and 9 (a soak) in BENCHMARKS.md: their sections.

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const lag = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const times = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
const count = (n: number) => n.toLocaleString('en-US');
const answers = (f: Record<string, number>) => (Object.keys(f).length ? Object.entries(f).map(([k, v]) => `${k}: ${v}`).join(', ') : 'none');

export function burstSection(b: BurstResult): string[] {
  const { big, small } = b.pipelines;
  const pipeline = (p: BurstPipeline | undefined) => (p ? `${p.served}/${p.sent}, ${ms(p.p50)}, ${ms(p.p90)}, ${ms(p.last)}` : 'n/a');
  const row = (jobs: string, side: string, s: BurstSide) =>
    `| ${jobs} | ${side} | ${count(s.served)} | ${answers(s.refused)} | ${ms(s.lastMs)} | ${pipeline(s.pipelines[big])} | ${pipeline(s.pipelines[small])} |`;
  return ['## 8. A burst of jobs', '',
    `N CI jobs at the same instant, each with a distinct valid token on a connection of its own, no retries: through kubevend (\`src/server.ts\` built, \`npm start\`'s options, SQLite, admission and the cluster's back-pressure at their defaults: ${'`KUBEVEND_MAX_IN_FLIGHT`'} 64, at most 32 calls at the API server), warmed by ${count(b.warmup)} issuances beforehand, versus the same N as direct calls to the API server (the two calls of scenario 1, node:https, all at once, each job its own TLS connection). Two pipelines, interleaved: \`${big}\` sends 90 % of the jobs, \`${small}\` every tenth. Times are from the burst's start to each credential, ms; a pipeline's cells are served/sent, then p50, p90 and the last of its completion times.`, '',
    `| jobs | | served (201) | refused | last credential ms | ${big} (90 %): served, p50, p90, last | ${small} (10 %): served, p50, p90, last |`, '| --- | --- | --- | --- | --- | --- | --- |',
    ...b.bursts.flatMap((x) => [row(count(x.jobs), 'direct to the API server (baseline)', x.direct), row('', 'through kubevend', x.kubevend)]),
    '', ...b.bursts.map((x) => `- ${count(x.jobs)} jobs: the last credential through kubevend at ${times(x.kubevend.lastMs / x.direct.lastMs)} the direct calls' time; \`${small}\`'s last at ${ms(x.kubevend.pipelines[small]?.last ?? NaN)} ms through kubevend, ${ms(x.direct.pipelines[small]?.last ?? NaN)} ms direct.`), ''];
}

export function soakSection(s: SoakResult): string[] {
  const row = (what: string, key: keyof ServerSample, show: (v: number) => string) => `| ${what} | ${show(s.start[key])} | ${show(s.end[key])} | ${times(s.growth[key])} |`;
  return ['## 9. Soak', '',
    `The real server (\`src/server.ts\` built, \`npm start\`'s options, SQLite, the reaper every 60 s) against the API server at a steady ${s.rate} issuances/s, the pipelines ${s.pipelines.map((p) => `\`${p}\``).join(', ')} in turn, each request on a connection of its own, sent on time whatever the answers; ${s.warmupSeconds} s of warm-up at the same rate, then ${s.minutes} min. Read from the server at the warm-up's end (start) and at each minute's end: RSS (/proc status), V8 heap used (\`nodejs_heap_size_used_bytes\`), open descriptors (entries of /proc/PID/fd), event-loop delay (\`nodejs_eventloop_lag_p50_seconds\`, \`_p99_seconds\`: prom-client's \`monitorEventLoopDelay\` at a 10 ms resolution, which it counts in: 10 ms is no delay; reset by each read of /metrics, so each figure covers the minute before it; the start's, the warm-up's second half). The client sent at most ${lag(s.maxSendLagMs)} ms after a request's time (a busy machine delays it too).`, '',
    '| | start | end | end / start |', '| --- | --- | --- | --- |',
    row('RSS MB', 'rssMb', mb),
    row('V8 heap used MB', 'heapUsedMb', mb),
    row('open descriptors', 'fds', String),
    row('event-loop delay p50 ms', 'eventLoopP50Ms', lag),
    row('event-loop delay p99 ms', 'eventLoopP99Ms', lag), '',
    'Minute by minute (answers to the requests sent in that minute; latency of the 201s; the server as read at the minute\'s end):', '',
    '| minute | answers | p50 ms | p99 ms | RSS MB | heap used MB | descriptors | event-loop p50 ms | p99 ms |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...s.byMinute.map((m) => `| ${m.minute} | ${answers(m.statuses)} | ${lag(m.latency.p50)} | ${lag(m.latency.p99)} | ${mb(m.server.rssMb)} | ${mb(m.server.heapUsedMb)} | ${m.server.fds} | ${lag(m.server.eventLoopP50Ms)} | ${lag(m.server.eventLoopP99Ms)} |`), ''];
}
