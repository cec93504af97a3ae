import { CliError, classOfStatus } from './exit.ts';

export interface ServiceOptions {
  /** The service's base URL, such as https://kubevend.internal. */
  url: string;
  /** How long the whole call may take, retries included. */
  deadlineMs: number;
  /** Where progress lines go (stderr): never a token. */
  say: (line: string) => void;
}

export interface ServiceCall {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** The bearer token, asked for again at every attempt: a CI system that can mint one mints a fresh one. */
  token: () => Promise<string>;
  body?: unknown;
  accept?: string;
}

/** What a refusal's problem+json said, for the one line the command prints. */
export interface ProblemFacts {
  status: number;
  code?: string;
  detail?: string;
  requestId?: string;
}

/** Statuses that say "later": a rate limit, or a service at capacity or waiting on a dependency. */
const retryable = new Set([429, 503]);

/**
 * Calls the service, retrying 429 and 503 (honouring Retry-After) and unreachable moments until the
 * deadline. Answers the response of a 2xx, its body unread; throws a CliError of the refusal's class
 * otherwise, naming the problem's code, detail and request id.
 */
export async function callService(options: ServiceOptions, call: ServiceCall): Promise<Response> {
  const deadline = Date.now() + options.deadlineMs;
  const url = new URL(call.path.replace(/^\//, ''), options.url.endsWith('/') ? options.url : `${options.url}/`);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    let response: Response;
    let wait: number;
    let why: string;
    try {
      const token = await call.token();
      response = await fetch(url, {
        method: call.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: call.accept ?? 'application/json',
          'user-agent': 'kubevend-cli',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        // The token goes to the service named and nowhere else: a redirect is reported, not followed.
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.max(remaining, 1)),
      });
    } catch (err) {
      if (err instanceof CliError) throw err;
      why = describeNetworkError(err);
      // Unreachable: tried until the deadline itself, the last wait cut short to end on it.
      if (Date.now() >= deadline) {
        throw new CliError('unavailable', `${options.url} could not be reached within ${seconds(options.deadlineMs)}: ${why}`);
      }
      wait = Math.min(backoff(attempt), deadline - Date.now());
      options.say(`${why}; trying again in ${seconds(wait)}`);
      await sleep(wait);
      continue;
    }
    if (response.ok) return response;
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new CliError('usage', `${options.url} answered ${response.status}, redirecting to ${response.headers.get('location') ?? 'nowhere'}; the token is not sent on: give --url the service's own address`);
    }
    const facts = await problemOf(response);
    if (!retryable.has(response.status)) throw new CliError(classOfStatus(response.status), describeProblem(facts));
    wait = retryAfterMs(response.headers.get('retry-after')) ?? backoff(attempt);
    if (Date.now() + wait >= deadline) {
      throw new CliError('unavailable', `${describeProblem(facts)}; gave up: a retry in ${seconds(wait)} would pass the deadline of ${seconds(options.deadlineMs)}`);
    }
    options.say(`${response.status} ${facts.code ?? ''}: trying again in ${seconds(wait)}`.replace(' :', ':'));
    await sleep(wait);
  }
}

/** The problem+json of a refusal; of anything else (a proxy's page), only the status. */
export async function problemOf(response: Response): Promise<ProblemFacts> {
  const facts: ProblemFacts = { status: response.status };
  const requestId = response.headers.get('x-request-id');
  if (requestId) facts.requestId = requestId;
  if (/json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      const body = (await response.json()) as { code?: unknown; detail?: unknown };
      if (typeof body.code === 'string') facts.code = body.code;
      if (typeof body.detail === 'string') facts.detail = body.detail;
    } catch {
      // Not JSON after all: the status alone says what happened.
    }
  } else {
    await response.body?.cancel();
  }
  return facts;
}

export function describeProblem(f: ProblemFacts): string {
  const head = `${f.status}${f.code ? ` ${f.code}` : ''}`;
  return `${head}${f.detail ? `: ${f.detail}` : ''}${f.requestId ? ` (request id ${f.requestId})` : ''}`;
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** 0.5 s, 1 s, 2 s ... at most 10 s, with jitter so that a fleet of jobs does not come back at once. */
function backoff(attempt: number): number {
  const base = Math.min(500 * 2 ** (attempt - 1), 10_000);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
