import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './exit.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that calls the service takes. */
export const serviceFlags = {
  url: { type: 'string' },
  deadline: { type: 'string' },
  'insecure-http': { type: 'boolean' },
} satisfies Options;

/** Flags of the commands that present a CI identity token. */
export const tokenFlags = {
  audience: { type: 'string' },
  'token-file': { type: 'string' },
  'token-env': { type: 'string' },
  'gitlab-token-var': { type: 'string' },
} satisfies Options;

/** Parses argv strictly: an unknown flag or a stray argument is a usage error, not ignored. */
export function parseFlags<T extends Options>(args: string[], options: T, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    if (parsed.positionals.length > positionals) throw new Error(`unexpected argument "${parsed.positionals[positionals]}"`);
    return parsed;
  } catch (err) {
    throw new CliError('usage', (err as Error).message);
  }
}

/** `90`, `90s`, `15m`, `1h` in milliseconds. */
export function durationMs(value: string, flag: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new CliError('usage', `--${flag} takes a duration such as 90s, 15m or 1h (got "${value}")`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}

export function serviceOf(values: { url?: string | undefined; deadline?: string | undefined; 'insecure-http'?: boolean | undefined }, env: NodeJS.ProcessEnv, say: (line: string) => void) {
  const url = values.url ?? env.KUBEVEND_URL;
  if (!url) throw new CliError('usage', 'name the service with --url or KUBEVEND_URL');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new CliError('usage', `--url must be an https URL (got "${url}")`);
  // The identity token (or an operator's) is a bearer credential: in clear only to this machine,
  // or where a local test says so.
  const insecure = values['insecure-http'] === true || env.KUBEVEND_INSECURE_HTTP === 'true';
  if (new URL(url).protocol === 'http:' && !isLoopback(new URL(url).hostname) && !insecure) {
    throw new CliError('usage', `--url must be https: over http (${url}) the token would travel in clear; --insecure-http allows it for local tests`);
  }
  return { url, deadlineMs: durationMs(values.deadline ?? env.KUBEVEND_DEADLINE ?? '60s', 'deadline'), say };
}

export function tokenChoiceOf(values: { audience?: string | undefined; 'token-file'?: string | undefined; 'token-env'?: string | undefined; 'gitlab-token-var'?: string | undefined }, env: NodeJS.ProcessEnv) {
  return {
    audience: values.audience ?? env.KUBEVEND_AUDIENCE ?? 'kubevend',
    tokenFile: values['token-file'],
    tokenEnv: values['token-env'],
    gitlabVariable: values['gitlab-token-var'] ?? env.KUBEVEND_GITLAB_TOKEN_VAR ?? 'KUBEVEND_ID_TOKEN',
  };
}

/** localhost, 127.0.0.0/8 and ::1: a service on this machine. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
