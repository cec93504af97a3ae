// The soak's client, in a process of its own: node bench/load/soak.ts CONFIG.json
// Sends issuances at a fixed rate (open loop: on time whatever the answers, each on a connection of
// its own as separate CI jobs), pipelines in turn; after the warm-up and at the end of every minute
// it reads the server: RSS and open descriptors from /proc, V8 heap and event-loop delay from its
// /metrics. Prints a SoakRun as JSON.
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { rssOf } from '../lib/proc.ts';
import { summarise, type Latency } from '../lib/stats.ts';

export interface SoakConfig {
  url: string;
  /** The server's process. */
  pid: number;
  /** Issuances a second. */
  rate: number;
  warmupSeconds: number;
  minutes: number;
  /** One file of tokens (one a line) a pipeline. */
  tokensFiles: Record<string, string>;
}

export interface ServerSample {
  rssMb: number;
  heapUsedMb: number;
  fds: number;
  /** Event-loop delay since the previous read of /metrics (prom-client resets its histogram on each). */
  eventLoopP50Ms: number;
  eventLoopP99Ms: number;
}

export interface SoakMinute {
  minute: number;
  /** Answers to the requests sent in this minute, by status (`error` when none came). */
  statuses: Record<string, number>;
  /** Of the 201s. */
  latency: Latency;
  /** Read at the minute's end. */
  server: ServerSample;
}

export interface SoakRun {
  /** Read at the warm-up's end; its event-loop delay is over the warm-up's second half. */
  start: ServerSample;
  byMinute: SoakMinute[];
  /** How late the client sent, at worst, ms: above a few ms the rate was not held. */
  maxSendLagMs: number;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as SoakConfig;
const pipelines = Object.keys(config.tokensFiles);
const tokens = pipelines.map((p) => readFileSync(config.tokensFiles[p]!, 'utf8').split('\n').filter(Boolean));
const interval = 1000 / config.rate;
const total = Math.round(config.rate * (config.warmupSeconds + config.minutes * 60));
const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${config.url}/metrics`)).text();
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z][a-z0-9_]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) values[m[1]!] ??= Number(m[2]);
  }
  return values;
}

async function sample(): Promise<ServerSample> {
  const m = await metrics();
  return {
    rssMb: rssOf(config.pid).totalMb,
    heapUsedMb: m.nodejs_heap_size_used_bytes! / 2 ** 20,
    fds: readdirSync(`/proc/${config.pid}/fd`).length,
    eventLoopP50Ms: m.nodejs_eventloop_lag_p50_seconds! * 1000,
    eventLoopP99Ms: m.nodejs_eventloop_lag_p99_seconds! * 1000,
  };
}

function issue(token: string): Promise<{ status: string; ms: number }> {
  const sent = performance.now();
  return new Promise((resolve) => {
    const req = request(`${config.url}/v1/credentials`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': 2 },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: `${res.statusCode}`, ms: performance.now() - sent }));
    });
    req.on('error', () => resolve({ status: 'error', ms: performance.now() - sent }));
    req.end('{}');
  });
}

const started = performance.now();
const warmupEnd = started + config.warmupSeconds * 1000;
/** Answers by the minute their request was sent in (-1: the warm-up). */
const answers: Promise<{ status: string; ms: number }>[][] = Array.from({ length: config.minutes + 1 }, () => []);
let maxSendLagMs = 0;

async function send(): Promise<void> {
  for (let k = 0; k < total; k++) {
    const due = started + k * interval;
    await sleepUntil(due);
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
    const minute = Math.floor((due - warmupEnd) / 60_000);
    const p = k % pipelines.length;
    answers[minute + 1]!.push(issue(tokens[p]!.pop()!));
  }
}

async function read(): Promise<{ start: ServerSample; ends: ServerSample[] }> {
  // Resets the event-loop histogram, so that the start's figures leave out start-up and the warm-up's first half.
  await sleepUntil(started + config.warmupSeconds * 500);
  await metrics();
  await sleepUntil(warmupEnd);
  const start = await sample();
  const ends: ServerSample[] = [];
  for (let m = 1; m <= config.minutes; m++) {
    await sleepUntil(warmupEnd + m * 60_000);
    ends.push(await sample());
  }
  return { start, ends };
}

const [, { start, ends }] = await Promise.all([send(), read()]);
const byMinute: SoakMinute[] = [];
for (let m = 1; m <= config.minutes; m++) {
  const done = await Promise.all(answers[m]!);
  const statuses: Record<string, number> = {};
  for (const a of done) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  byMinute.push({ minute: m, statuses, latency: summarise(done.filter((a) => a.status === '201').map((a) => a.ms)), server: ends[m - 1]! });
}
process.stdout.write(`${JSON.stringify({ start, byMinute, maxSendLagMs } satisfies SoakRun)}\n`);
