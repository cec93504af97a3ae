import { appendFile, readFile } from 'node:fs/promises';
import { CliError } from './exit.ts';
import { tokenChoiceOf } from './options.ts';

export type CiSystem = 'github' | 'gitlab' | 'other';

export function ciSystemOf(env: NodeJS.ProcessEnv): CiSystem {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (env.GITLAB_CI === 'true') return 'gitlab';
  return 'other';
}

export interface TokenChoice {
  tokenFile?: string | undefined;
  tokenEnv?: string | undefined;
  /** The `aud` to ask GitHub for; GitLab's is fixed in the job's `id_tokens`. */
  audience: string;
  /** The `id_tokens` variable holding GitLab's token. */
  gitlabVariable: string;
}

export interface IdentityTokens {
  /** Where the token comes from, for messages. */
  source: string;
  /** Whether a later call gets a new token (GitHub mints one per request; a file may be refreshed). */
  renewable: boolean;
  next(): Promise<string>;
}

/**
 * Finds the CI system's identity token: an explicit file or variable first, then GitHub's token
 * endpoint, then GitLab's `id_tokens` variable. Every token it hands out is masked in GitHub's log.
 */
export function identityTokens(choice: TokenChoice, env: NodeJS.ProcessEnv, mask: (secret: string) => void): IdentityTokens {
  const masked = (source: string, renewable: boolean, read: () => Promise<string>): IdentityTokens => ({
    source, renewable,
    async next() {
      const token = (await read()).trim();
      if (!token) throw new CliError('usage', `the identity token from ${source} is empty`);
      mask(token);
      return token;
    },
  });
  if (choice.tokenFile) {
    const file = choice.tokenFile;
    return masked(`file ${file}`, true, () => readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CliError('usage', `cannot read the identity token file ${file} (${err.code ?? err.message})`);
    }));
  }
  if (choice.tokenEnv) {
    const name = choice.tokenEnv;
    return masked(`variable ${name}`, false, async () => {
      if (!env[name]) throw new CliError('usage', `the variable ${name} named by --token-env is not set`);
      return env[name];
    });
  }
  const system = ciSystemOf(env);
  if (system === 'github') {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
      throw new CliError('usage', 'GitHub Actions gives this job no identity token: add `permissions: { id-token: write }` to the job');
    }
    return masked('GitHub Actions', true, () => githubIdToken(url, bearer, choice.audience));
  }
  if (system === 'gitlab') {
    const name = choice.gitlabVariable;
    return masked(`GitLab id_tokens variable ${name}`, false, async () => {
      if (!env[name]) {
        throw new CliError('usage', `GitLab gives this job no ${name}: declare \`id_tokens: { ${name}: { aud: ${choice.audience} } }\` in the job`);
      }
      return env[name];
    });
  }
  throw new CliError('usage', 'no identity token: outside GitHub Actions and GitLab CI, pass --token-file or --token-env');
}

/**
 * Who asks, without spending or asking for a token: a cache of credentials is kept apart per
 * holder, so that jobs of other pipelines sharing a runner's home never get each other's. The CI
 * system's job (GitHub's run and job, GitLab's job id) and the issuer and subject of the identity
 * token at hand (a file, a variable, GitLab's id_tokens variable; read, not verified: it only picks
 * a cache entry). Undefined, so no cache, when a token at hand is not a JWT: the token itself never
 * keys a cache.
 */
export async function holderOf(choice: TokenChoice, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const system = ciSystemOf(env);
  const job = system === 'github' ? ['github', env.GITHUB_REPOSITORY, env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT, env.GITHUB_JOB]
    : system === 'gitlab' ? ['gitlab', env.CI_SERVER_URL, env.CI_JOB_ID] : ['none'];
  const token = choice.tokenFile ? await readFile(choice.tokenFile, 'utf8').catch(() => '')
    : choice.tokenEnv ? env[choice.tokenEnv] ?? ''
      : system === 'gitlab' ? env[choice.gitlabVariable] ?? '' : undefined;
  // GitHub mints a token per request: the job alone names the holder.
  if (token === undefined) return system === 'github' ? JSON.stringify(job) : undefined;
  try {
    const { iss, sub } = JSON.parse(Buffer.from(token.trim().split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown; sub?: unknown };
    if (typeof iss === 'string' && typeof sub === 'string') return JSON.stringify([...job, iss, sub]);
  } catch {
    // Not a JWT: no cache.
  }
  return undefined;
}

/** Asks GitHub's token endpoint for an ID token for `audience`, as GitHub's own toolkit does. */
async function githubIdToken(requestUrl: string, bearer: string, audience: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${requestUrl}&audience=${encodeURIComponent(audience)}`, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json; api-version=2.0', 'user-agent': 'kubevend-cli' },
      signal: AbortSignal.timeout(20_000),
    });
  } catch (err) {
    throw new CliError('unavailable', `GitHub's ID token endpoint cannot be reached: ${(err as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CliError(response.status >= 500 ? 'unavailable' : 'refused', `GitHub's ID token endpoint answered ${response.status}`);
  }
  const body = (await response.json().catch(() => ({}))) as { value?: unknown };
  if (typeof body.value !== 'string') throw new CliError('unavailable', 'GitHub\'s ID token endpoint answered without a token');
  return body.value;
}

/** A workflow command's data, escaped as GitHub's toolkit does: the runner reads it back as it was. */
export const escapeData = (text: string) => text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');

/** How this CI system learns of secrets to hide and of variables for later steps. */
export interface CiSurface {
  system: CiSystem;
  mask(secret: string): void;
  /** Makes NAME=value seen by the job's later steps (GitHub) or prints an `export` line to eval (others). */
  exportVariable(name: string, value: string): Promise<void>;
  /** A step output (GitHub); nothing elsewhere. */
  setOutput(name: string, value: string): Promise<void>;
}

export function ciSurface(env: NodeJS.ProcessEnv, stdout: (text: string) => void, dotenv?: string): CiSurface {
  const system = ciSystemOf(env);
  const line = (name: string, value: string) => {
    if (/[\r\n]/.test(value)) throw new CliError('failed', `the value of ${name} holds a line break`);
    return `${name}=${value}\n`;
  };
  return {
    system,
    // GitHub's runner hides every later occurrence of a masked value in the log; the command it
    // reads is on stdout, and is not shown itself.
    mask: (secret) => {
      if (system === 'github') for (const part of secret.split(/\r?\n/).filter(Boolean)) stdout(`::add-mask::${escapeData(part)}\n`);
    },
    async exportVariable(name, value) {
      if (system === 'github' && env.GITHUB_ENV) await appendFile(env.GITHUB_ENV, line(name, value));
      else stdout(`export ${name}='${value.replaceAll('\'', '\'\\\'\'')}'\n`);
      if (dotenv) await appendFile(dotenv, line(name, value));
    },
    async setOutput(name, value) {
      if (system === 'github' && env.GITHUB_OUTPUT) await appendFile(env.GITHUB_OUTPUT, line(name, value));
    },
  };
}

/** The job's identity token for one call, masked in GitHub's log: for commands other than `credentials`. */
export function jobToken(values: Parameters<typeof tokenChoiceOf>[0], env: NodeJS.ProcessEnv, stdout: (text: string) => void): () => Promise<string> {
  const tokens = identityTokens(tokenChoiceOf(values, env), env, ciSurface(env, stdout).mask);
  return () => tokens.next();
}
