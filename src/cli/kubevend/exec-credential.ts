import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ciSurface, holderOf, identityTokens } from './ci.ts';
import type { CommandContext } from './context.ts';
import { askFlags, askOf, parseExecCredential, readEnvelope } from './credentials.ts';
import { CliError } from './exit.ts';
import { lockFile, privateDir, readPrivateFile, writePrivateFile } from './files.ts';
import { durationMs, parseFlags, serviceFlags, serviceOf, tokenChoiceOf, tokenFlags } from './options.ts';
import { callService, sleep } from './service.ts';
import { jobDir, knownJobDir, recordIssued, stateFileIn } from './state.ts';

const flags = {
  ...serviceFlags,
  ...tokenFlags,
  ...askFlags,
  'cache-dir': { type: 'string' },
  'renew-before': { type: 'string' },
} as const;

/**
 * `kubevend exec-credential`: a kubectl exec credential plugin. It answers from a cache (one 0600
 * file per caller, service, cluster, namespace and ServiceAccount, in the job's own folder where the
 * CI system names the job) until `--renew-before` the credential's expiry, then asks the service
 * again with a new identity token, so a job that outlives one token never hands kubectl an expired
 * one. Every issuance it asks for is recorded in the job's state, where `revoke` finds it.
 */
export async function execCredentialCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, flags);
  const ask = askOf(values);
  if ('clusters' in ask) throw new CliError('usage', 'an ExecCredential holds one cluster\'s token: name one --cluster');
  const service = serviceOf(values, ctx.env, ctx.say);
  const renewBeforeMs = durationMs(values['renew-before'] ?? '2m', 'renew-before');
  const choice = tokenChoiceOf(values, ctx.env);
  const inJob = knownJobDir(ctx.env) ? await jobDir(ctx.env) : undefined;
  const dir = await privateDir(values['cache-dir'] ?? ctx.env.KUBEVEND_CACHE_DIR ?? (inJob ? join(inJob, 'exec-credentials') : join(ctx.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kubevend', 'credentials')));
  const stateFile = ctx.env.KUBEVEND_STATE ?? (inJob ? stateFileIn(inJob) : undefined);
  const holder = await holderOf(choice, ctx.env);
  // The key names who asks (never with their token): a caller it cannot tell apart gets no cache.
  const key = holder && createHash('sha256').update(JSON.stringify([holder, service.url, choice.audience, values.cluster?.[0] ?? '', ask.namespace ?? '', ask.serviceAccount ?? ''])).digest('hex').slice(0, 32);
  const file = key && join(dir, `${key}.json`);
  const fresh = (text: string | undefined) => {
    const credential = text === undefined ? undefined : parseExecCredential(text);
    return !!credential && Date.parse(credential.expirationTimestamp) - Date.now() > renewBeforeMs;
  };

  const cached = file ? await readPrivateFile(file, ctx.say) : undefined;
  if (fresh(cached)) return ctx.stdout(cached!);
  // One process at a time asks: kubectl commands run in parallel would otherwise each spend an
  // identity token (GitLab's can be spent once) for the same credential.
  const release = await lockFile(`${file || join(dir, 'uncached')}.lock`, service.deadlineMs, sleep);
  try {
    const again = file ? await readPrivateFile(file, ctx.say) : undefined;
    if (fresh(again)) return ctx.stdout(again!);
    const ci = ciSurface(ctx.env, () => {});
    const tokens = identityTokens(choice, ctx.env, ci.mask);
    if (again !== undefined && !tokens.renewable) {
      ctx.say(`the cached credential is due for renewal and ${tokens.source} gives no new identity token; asking with the one it has`);
    }
    // Asked for as the envelope, which names the issuance to record; kubectl gets the ExecCredential.
    const response = await callService(service, { method: 'POST', path: '/v1/credentials', token: () => tokens.next(), body: { ...ask, format: 'json' } });
    const { body, tokens: found } = readEnvelope(await response.text());
    const [issuance] = body.issuances;
    if (found.length !== 1 || body.issuances.length !== 1 || !issuance || Number.isNaN(Date.parse(issuance.expiresAt))) {
      throw new CliError('unavailable', 'the service answered 2xx without one cluster\'s token');
    }
    if (stateFile) await recordIssued(stateFile, [{ url: service.url, id: issuance.issuanceId, expiresAt: issuance.expiresAt }]);
    else ctx.say(`issuance ${issuance.issuanceId} is recorded nowhere (no CI job, no KUBEVEND_STATE): revoke it by its id`);
    const text = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: found[0], expirationTimestamp: issuance.expiresAt } });
    if (file) await writePrivateFile(file, text);
    ctx.stdout(text);
  } finally {
    await release();
  }
}
