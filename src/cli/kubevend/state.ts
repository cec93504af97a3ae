import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './exit.ts';
import { lockFile, privateDir, readPrivateFile, writePrivateFile } from './files.ts';
import { sleep } from './service.ts';

/** One issuance `credentials` or the exec plugin made in this job, for `revoke`: never a token. */
export interface Issued {
  url: string;
  id: string;
  expiresAt?: string;
}

/**
 * Where a job's kubeconfig and state live: a folder in the runner's per-job temporary folder on
 * GitHub, a folder named after the job on GitLab (its after_script runs in a shell of its own and
 * finds it there), a new private folder elsewhere. A folder of a known name is used only if this
 * user made it so (privateDir): someone else's in a shared TMPDIR is refused.
 */
export async function jobDir(env: NodeJS.ProcessEnv): Promise<string> {
  const known = knownJobDir(env);
  return known ? privateDir(known) : mkdtemp(join(tmpdir(), 'kubevend-'));
}

/** The job's folder where the CI system names the job; undefined elsewhere. */
export function knownJobDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_ACTIONS === 'true' && env.RUNNER_TEMP) return join(env.RUNNER_TEMP, 'kubevend');
  if (env.GITLAB_CI === 'true' && env.CI_JOB_ID) return join(env.TMPDIR || tmpdir(), `kubevend-job-${env.CI_JOB_ID}`);
  return undefined;
}

export const stateFileIn = (dir: string) => join(dir, 'state.json');

/**
 * Adds issuances to the job's state. Several commands of one job (two `credentials`, kubectl's
 * plugin runs) share it, so it is read and rewritten under a lock: none loses another's issuance.
 */
export async function recordIssued(file: string, issued: Issued[]): Promise<void> {
  await updateState(file, (known) => [...known, ...issued]);
}

/** Drops revoked issuances from the state; the file goes once none is left. */
export async function forgetIssued(file: string, revoked: Issued[]): Promise<void> {
  await updateState(file, (known) => known.filter((k) => !revoked.some((r) => r.id === k.id && r.url === k.url)));
}

async function updateState(file: string, change: (known: Issued[]) => Issued[]): Promise<void> {
  const release = await lockFile(`${file}.lock`, 30_000, sleep);
  try {
    const text = await readPrivateFile(file);
    const next = change(text === undefined ? [] : issuedIn(text, file));
    if (next.length) await writePrivateFile(file, `${JSON.stringify({ issued: next })}\n`);
    else await rm(file, { force: true });
  } finally {
    await release();
  }
}

export async function loadState(file: string): Promise<Issued[]> {
  const text = await readPrivateFile(file, (reason) => {
    throw new CliError('usage', `the job state cannot be used: ${reason}`);
  });
  if (text === undefined) throw new CliError('usage', `no job state at ${file}: nothing was issued by \`kubevend credentials\` in this job`);
  return issuedIn(text, file);
}

/** The issuances of a state file; also one written by an earlier version (one URL, a list of ids). */
function issuedIn(text: string, file: string): Issued[] {
  const state = JSON.parse(text) as { issued?: Issued[]; url?: string; issuances?: string[]; expiresAt?: string };
  if (Array.isArray(state.issued) && state.issued.every((i) => typeof i.url === 'string' && typeof i.id === 'string')) return state.issued;
  if (typeof state.url === 'string' && Array.isArray(state.issuances)) {
    return state.issuances.map((id) => ({ url: state.url!, id, ...(state.expiresAt ? { expiresAt: state.expiresAt } : {}) }));
  }
  throw new CliError('usage', `${file} is not kubevend's job state`);
}
