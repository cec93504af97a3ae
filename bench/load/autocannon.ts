// The load generator, in a process of its own: node bench/load/autocannon.ts CONFIG.json
// Runs a warm-up, then the measured requests, with autocannon; prints a LoadResult as JSON.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import type { LoadResult } from '../lib/stats.ts';

export interface LoadConfig {
  url: string;
  method: 'GET' | 'POST';
  /** Request paths, taken in turn. */
  paths: string[];
  body?: string;
  headers?: Record<string, string>;
  /** One bearer token a request from this file (one a line); the file bounds the count. */
  tokensFile?: string;
  /** Or one bearer token for every request. */
  bearer?: string;
  expectStatus: number;
  connections: number;
  warmup: number;
  amount: number;
  /** The measured part stops here even if requests remain. */
  maxSeconds: number;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig;
const tokens = config.tokensFile ? readFileSync(config.tokensFile, 'utf8').split('\n').filter(Boolean) : [];
if (config.tokensFile && tokens.length < config.warmup + config.amount) {
  throw new Error(`${tokens.length} tokens for ${config.warmup + config.amount} requests`);
}
let next = 0;

function run(amount: number, maxSeconds: number, measure: boolean): Promise<LoadResult> {
  const samples: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (what: string) => (failures[what] = (failures[what] ?? 0) + 1);
  let ok = 0;
  const started = performance.now();
  // autocannon notices that `amount` is reached on its one-second tick: time ends at the last answer.
  let lastAnswer = started;
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: config.url,
      connections: config.connections,
      amount,
      timeout: 30,
      requests: [{
        method: config.method,
        ...(config.body ? { body: config.body } : {}),
        setupRequest: (request) => {
          const i = next++;
          const bearer = config.tokensFile ? tokens[i] : config.bearer;
          return {
            ...request,
            path: config.paths[i % config.paths.length],
            headers: { ...config.headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          };
        },
      }],
    }, (err) => {
      clearTimeout(timer);
      const used = process.cpuUsage(cpu);
      if (err) reject(err);
      else resolve({ ok, failures, elapsedMs: lastAnswer - started, samples: measure ? samples : [], clientCpuMs: (used.user + used.system) / 1000 });
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      lastAnswer = performance.now();
      if (status !== config.expectStatus) return void fail(`${status}`);
      ok++;
      samples.push(Math.round(ms * 1000) / 1000);
    });
    instance.on('reqError', (error) => fail(error.name || 'error'));
    const timer = setTimeout(() => instance.stop(), maxSeconds * 1000);
  });
}

if (config.warmup > 0) await run(config.warmup, config.maxSeconds, false);
const result = await run(config.amount, config.maxSeconds, true);
process.stdout.write(`${JSON.stringify(result)}\n`);
