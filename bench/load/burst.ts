// The burst's client, in a process of its own: node bench/load/burst.ts CONFIG.json
// Sends every request at once, each on a connection of its own as separate CI jobs would, with no
// retries; prints every answer (its pipeline, status, problem code, ms from the burst's start) as JSON.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

export interface BurstConfig {
  url: string;
  /** The pipeline of each request, in the order they are sent. */
  order: string[];
  /** One file of tokens (one a line) a pipeline, as many as it sends. */
  tokensFiles: Record<string, string>;
}

export interface BurstAnswer {
  pipeline: string;
  /** HTTP status; 0 when no answer came (the connection failed). */
  status: number;
  /** The problem's `code` (kubevend), the Status's `reason` (the API server) or the socket error's. */
  code: string;
  /** From the burst's start to the end of this answer. */
  ms: number;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BurstConfig;
const tokens = Object.fromEntries(Object.entries(config.tokensFiles).map(([pipeline, file]) =>
  [pipeline, readFileSync(file, 'utf8').split('\n').filter(Boolean)]));
const started = performance.now();

function issue(pipeline: string, token: string): Promise<BurstAnswer> {
  return new Promise((resolve) => {
    const req = request(`${config.url}/v1/credentials`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': 2 },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const status = res.statusCode ?? 0;
        resolve({ pipeline, status, code: status === 201 ? '' : problemCode(Buffer.concat(chunks).toString('utf8')), ms });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ pipeline, status: 0, code: err.code ?? err.name, ms: performance.now() - started }));
    req.end('{}');
  });
}

function problemCode(body: string): string {
  try {
    return (JSON.parse(body) as { code?: string }).code ?? 'no code';
  } catch {
    return 'not JSON';
  }
}

const answers = await Promise.all(config.order.map((pipeline) => issue(pipeline, tokens[pipeline]!.pop()!)));
process.stdout.write(`${JSON.stringify(answers)}\n`);
