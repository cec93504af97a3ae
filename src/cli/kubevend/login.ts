import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from './context.ts';
import { CliError } from './exit.ts';
import { privateDir, readPrivateFile, writePrivateFile } from './files.ts';
import { parseFlags } from './options.ts';
import { sleep } from './service.ts';

/** Flags of the commands an operator runs with their login. */
export const loginFlags = {
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'token-cache-dir': { type: 'string' },
} as const;

interface LoginValues {
  issuer?: string | undefined;
  'client-id'?: string | undefined;
  'token-cache-dir'?: string | undefined;
  'token-file'?: string | undefined;
  'token-env'?: string | undefined;
}

/** The cached login, as kubelogin keeps it: one 0600 file per issuer and client. */
interface CachedLogin {
  issuer: string;
  clientId: string;
  idToken: string;
  refreshToken?: string;
}

const cacheDirOf = (values: LoginValues, env: NodeJS.ProcessEnv) =>
  values['token-cache-dir'] ?? env.KUBEVEND_TOKEN_CACHE_DIR ?? join(homedir(), '.kube', 'cache', 'kubevend');
const cacheFile = (dir: string, issuer: string, clientId: string) =>
  join(dir, `${createHash('sha256').update(JSON.stringify([issuer, clientId])).digest('hex').slice(0, 32)}.json`);
const currentFile = (dir: string) => join(dir, 'current.json');

/**
 * `kubevend login`: the OAuth device authorization grant (RFC 8628) against the operator's OIDC
 * provider. Prints where to go and the code to enter, waits for the approval, and caches the ID
 * token (and refresh token) that operator commands present to kubevend.
 */
export async function loginCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, { ...loginFlags, scope: { type: 'string' } });
  const issuer = values.issuer ?? ctx.env.KUBEVEND_OIDC_ISSUER;
  const clientId = values['client-id'] ?? ctx.env.KUBEVEND_OIDC_CLIENT_ID;
  if (!issuer || !clientId) throw new CliError('usage', 'name the OIDC provider with --issuer and --client-id (or KUBEVEND_OIDC_ISSUER, KUBEVEND_OIDC_CLIENT_ID)');
  // Settled before the operator is asked to approve: a folder that cannot hold the login stops here.
  const dir = await privateDir(cacheDirOf(values, ctx.env));
  const provider = await discover(issuer);
  if (!provider.device_authorization_endpoint) throw new CliError('usage', `${issuer} offers no device authorization endpoint`);
  const start = await form(provider.device_authorization_endpoint, { client_id: clientId, scope: values.scope ?? 'openid offline_access' });
  if (!start.ok) throw new CliError('refused', `the provider refused the device authorization: ${start.body.error ?? start.status}`);
  const { device_code, user_code, verification_uri, verification_uri_complete } = start.body as Record<string, string>;
  const expiresIn = Number(start.body.expires_in ?? 600);
  let interval = Number(start.body.interval ?? 5) * 1000;
  ctx.say(`to sign in, open ${verification_uri_complete ?? verification_uri} and confirm the code ${user_code}`);
  const until = Date.now() + expiresIn * 1000;
  while (Date.now() < until) {
    await sleep(interval);
    const answer = await form(provider.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device_code!, client_id: clientId });
    if (answer.ok) {
      await saveLogin(dir, { issuer, clientId, ...tokensOf(answer.body) });
      ctx.say(`signed in as ${claimsOf(String(answer.body.id_token)).sub} at ${issuer}`);
      return;
    }
    if (answer.body.error === 'slow_down') interval += 5000;
    else if (answer.body.error !== 'authorization_pending') throw new CliError('refused', `the sign-in was not completed: ${answer.body.error ?? answer.status}`);
  }
  throw new CliError('refused', 'the sign-in was not completed before the code expired');
}

/**
 * The bearer token of an operator command: a token file or variable when given, else the cached
 * login's ID token, renewed with its refresh token when less than a minute of it is left.
 */
export async function operatorToken(values: LoginValues, ctx: CommandContext): Promise<string> {
  if (values['token-file']) return (await readFile(values['token-file'], 'utf8')).trim();
  const variable = values['token-env'] ?? (ctx.env.KUBEVEND_TOKEN ? 'KUBEVEND_TOKEN' : undefined);
  if (variable) {
    if (!ctx.env[variable]) throw new CliError('usage', `the variable ${variable} is not set`);
    return ctx.env[variable];
  }
  const dir = cacheDirOf(values, ctx.env);
  const current = JSON.parse((await readPrivateFile(currentFile(dir), ctx.say)) ?? '{}') as { issuer?: string; clientId?: string };
  const issuer = values.issuer ?? ctx.env.KUBEVEND_OIDC_ISSUER ?? current.issuer;
  const clientId = values['client-id'] ?? ctx.env.KUBEVEND_OIDC_CLIENT_ID ?? current.clientId;
  const notLoggedIn = new CliError('usage', 'not signed in: run `kubevend login --issuer <url> --client-id <id>` (or pass --token-env)');
  if (!issuer || !clientId) throw notLoggedIn;
  const text = await readPrivateFile(cacheFile(dir, issuer, clientId), ctx.say);
  if (!text) throw notLoggedIn;
  const login = JSON.parse(text) as CachedLogin;
  if ((claimsOf(login.idToken).exp ?? 0) * 1000 - Date.now() > 60_000) return login.idToken;
  if (!login.refreshToken) throw new CliError('usage', 'the sign-in has expired: run `kubevend login` again');
  const provider = await discover(issuer);
  const answer = await form(provider.token_endpoint, { grant_type: 'refresh_token', refresh_token: login.refreshToken, client_id: clientId });
  if (!answer.ok || typeof answer.body.id_token !== 'string') throw new CliError('usage', 'the sign-in has expired and could not be renewed: run `kubevend login` again');
  const renewed = { issuer, clientId, ...tokensOf(answer.body, login.refreshToken) };
  await saveLogin(dir, renewed);
  return renewed.idToken;
}

async function saveLogin(dir: string, login: CachedLogin): Promise<void> {
  // The operator's tokens go only into a folder of their own that nobody else made or may enter.
  await privateDir(dir);
  await writePrivateFile(cacheFile(dir, login.issuer, login.clientId), JSON.stringify(login));
  await writePrivateFile(currentFile(dir), JSON.stringify({ issuer: login.issuer, clientId: login.clientId }));
}

function tokensOf(body: Record<string, unknown>, previousRefresh?: string): { idToken: string; refreshToken?: string } {
  if (typeof body.id_token !== 'string') throw new CliError('refused', 'the provider answered without an ID token (is the scope "openid" allowed?)');
  const refresh = typeof body.refresh_token === 'string' ? body.refresh_token : previousRefresh;
  return { idToken: body.id_token, ...(refresh ? { refreshToken: refresh } : {}) };
}

function claimsOf(jwt: string): { sub?: string; exp?: number } {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string; exp?: number };
  } catch {
    return {};
  }
}

interface ProviderMetadata {
  token_endpoint: string;
  device_authorization_endpoint?: string;
}

async function discover(issuer: string): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(20_000) }).catch((err: Error) => {
    throw new CliError('unavailable', `the OIDC provider cannot be reached at ${url}: ${err.message}`);
  });
  if (!response.ok) throw new CliError('unavailable', `the OIDC provider answered ${response.status} at ${url}`);
  return (await response.json()) as ProviderMetadata;
}

async function form(url: string, fields: Record<string, string>): Promise<{ ok: boolean; status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'application/json' }, signal: AbortSignal.timeout(20_000),
  }).catch((err: Error) => {
    throw new CliError('unavailable', `the OIDC provider cannot be reached: ${err.message}`);
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { ok: response.ok, status: response.status, body };
}
