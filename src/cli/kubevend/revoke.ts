import { ciSystemOf, jobToken } from './ci.ts';
import type { CommandContext } from './context.ts';
import { CliError, exitCodes, type ExitClass } from './exit.ts';
import { operatorToken, loginFlags } from './login.ts';
import { parseFlags, serviceFlags, serviceOf, tokenFlags } from './options.ts';
import { callService } from './service.ts';
import { forgetIssued, jobDir, loadState, stateFileIn, type Issued } from './state.ts';

const flags = { ...serviceFlags, ...tokenFlags, ...loginFlags, state: { type: 'string' }, operator: { type: 'boolean' } } as const;

/**
 * `kubevend revoke [ID...]`: revokes what `credentials` issued in this job (its state file) or the
 * issuances named, with the job's identity token or, with --operator, the operator's login.
 */
export async function revokeCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values, positionals } = parseFlags(args, flags, 100);
  const stateFile = positionals.length ? undefined : values.state ?? ctx.env.KUBEVEND_STATE ?? (await jobStateFile(ctx.env));
  // Each issuance goes back to the service that made it, unless --url or KUBEVEND_URL says otherwise.
  const named = values.url ?? ctx.env.KUBEVEND_URL;
  const issued: Issued[] = stateFile ? await loadState(stateFile) : positionals.map((id) => ({ id, url: named ?? '' }));
  const token = values.operator
    ? () => operatorToken(values, ctx)
    : jobToken(values, ctx.env, ctx.stdout);
  let worst: ExitClass = 'ok';
  const revoked: Issued[] = [];
  for (const one of issued) {
    const service = serviceOf({ ...values, url: named ?? (one.url || undefined) }, ctx.env, ctx.say);
    try {
      const response = await callService(service, { method: 'DELETE', path: `/v1/issuances/${encodeURIComponent(one.id)}`, token });
      const body = (await response.json()) as { state?: string; pipeline?: string };
      ctx.say(`issuance ${one.id} of ${body.pipeline}: ${body.state}`);
      revoked.push(one);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      ctx.say(`issuance ${one.id}: ${err.message}`);
      if (exitCodes[err.exitClass] > exitCodes[worst]) worst = err.exitClass;
    }
  }
  // Only what was revoked leaves the state: a later revoke tries the rest again.
  if (stateFile) await forgetIssued(stateFile, revoked);
  if (worst !== 'ok') throw new CliError(worst, `${issued.length === 1 ? 'the issuance was' : 'not every issuance was'} not revoked`);
}

/** The state `credentials` left in this CI job's folder; outside CI there is no such folder to look in. */
async function jobStateFile(env: NodeJS.ProcessEnv): Promise<string> {
  if (ciSystemOf(env) === 'other') throw new CliError('usage', 'name what to revoke: issuance ids, --state FILE, or KUBEVEND_STATE');
  return stateFileIn(await jobDir(env));
}
