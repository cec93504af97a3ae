import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ciSurface, holderOf, identityTokens } from './ci.ts';
import type { CommandContext } from './context.ts';
import { askFlags, askOf, parseExecCredential } from './credentials.ts';
import { CliError } from './exit.ts';
import { readPrivateFile, writePrivateFile } from './files.ts';
import { durationMs, parseFlags, serviceFlags, serviceOf, tokenChoiceOf, tokenFlags } from './options.ts';
import { callService, sleep } from './service.ts';

const flags = {
  ...serviceFlags,
  ...tokenFlags,
  ...askFlags,
  'cache-dir': { type: 'string' },
  'renew-before': { type: 'string' },
} as const;

/**
 * `kubevend exec-credential`: a kubectl exec credential plugin. It answers from a cache (one 0600
 * file per holder, service, cluster, namespace and ServiceAccount) until `--renew-before` the credential's
 * expiry, then asks the service again with a new identity token, so a job that outlives one token
 * never hands kubectl an expired one.
 */
export async function execCredentialCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, flags);
  const ask = askOf(values);
  if ('clusters' in ask) throw new CliError('usage', 'an ExecCredential holds one cluster\'s token: name one --cluster');
  const service = serviceOf(values, ctx.env, ctx.say);
  const renewBeforeMs = durationMs(values['renew-before'] ?? '2m', 'renew-before');
  const choice = tokenChoiceOf(values, ctx.env);
  const dir = values['cache-dir'] ?? ctx.env.KUBEVEND_CACHE_DIR ?? join(ctx.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kubevend', 'credentials');
  const holder = await holderOf(choice, ctx.env);
  const key = createHash('sha256').update(JSON.stringify([holder, service.url, choice.audience, values.cluster?.[0] ?? '', ask.namespace ?? '', ask.serviceAccount ?? ''])).digest('hex').slice(0, 32);
  const file = join(dir, `${key}.json`);
  const fresh = (text: string | undefined) => {
    const credential = text === undefined ? undefined : parseExecCredential(text);
    return !!credential && Date.parse(credential.expirationTimestamp) - Date.now() > renewBeforeMs;
  };

  const cached = await readPrivateFile(file, ctx.say);
  if (fresh(cached)) return ctx.stdout(cached!);
  // One process at a time asks: kubectl commands run in parallel would otherwise each spend an
  // identity token (GitLab's can be spent once) for the same credential.
  const release = await lock(`${file}.lock`, service.deadlineMs);
  try {
    const again = await readPrivateFile(file, ctx.say);
    if (fresh(again)) return ctx.stdout(again!);
    const ci = ciSurface(ctx.env, () => {});
    const tokens = identityTokens(choice, ctx.env, ci.mask);
    if (again !== undefined && !tokens.renewable) {
      ctx.say(`the cached credential is due for renewal and ${tokens.source} gives no new identity token; asking with the one it has`);
    }
    const response = await callService(service, { method: 'POST', path: '/v1/credentials', token: () => tokens.next(), body: { ...ask, format: 'exec-credential' } });
    const text = await response.text();
    if (!parseExecCredential(text)) throw new CliError('unavailable', 'the service answered 2xx without an ExecCredential');
    await writePrivateFile(file, text);
    ctx.stdout(text);
  } finally {
    await release();
  }
}

/** An exclusive lock file; one left by a process that died is taken over after a minute. */
async function lock(path: string, waitMs: number): Promise<() => Promise<void>> {
  const until = Date.now() + waitMs;
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 60_000) await rm(path, { force: true });
    else if (Date.now() > until) throw new CliError('unavailable', `another kubevend holds ${path}`);
    else await sleep(100);
  }
}
