import { lstat, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './exit.ts';
import { readPrivateFile, writePrivateFile } from './files.ts';

/** What `credentials` remembers for `revoke` at the end of the job: never a token. */
export interface JobState {
  url: string;
  issuances: string[];
  expiresAt?: string;
}

/**
 * Where a job's kubeconfig and state live: the runner's per-job temporary folder on GitHub, a
 * folder named after the job on GitLab (its after_script runs in a shell of its own and finds it
 * there), a new private folder elsewhere.
 */
export async function jobDir(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.GITHUB_ACTIONS === 'true' && env.RUNNER_TEMP) return privateDir(join(env.RUNNER_TEMP, 'kubevend'));
  if (env.GITLAB_CI === 'true' && env.CI_JOB_ID) return privateDir(join(env.TMPDIR || tmpdir(), `kubevend-job-${env.CI_JOB_ID}`));
  return mkdtemp(join(tmpdir(), 'kubevend-'));
}

/**
 * A folder of a known name, made 0700, or one this user made so before. A folder someone else made
 * first (in a shared /tmp, say) is refused: they could swap the kubeconfig in it for their own.
 */
async function privateDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { mode: 0o700 });
    return dir;
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  }
  const found = await lstat(dir);
  if (!found.isDirectory() || (process.getuid && found.uid !== process.getuid()) || (found.mode & 0o077) !== 0) {
    throw new CliError('failed', `${dir} exists but is not a folder only this user can use; nothing was written`);
  }
  return dir;
}

export const stateFileIn = (dir: string) => join(dir, 'state.json');

export async function saveState(file: string, state: JobState): Promise<void> {
  await writePrivateFile(file, `${JSON.stringify(state)}\n`);
}

export async function loadState(file: string): Promise<JobState> {
  const text = await readPrivateFile(file, (reason) => {
    throw new CliError('usage', `the job state cannot be used: ${reason}`);
  });
  if (text === undefined) throw new CliError('usage', `no job state at ${file}: nothing was issued by \`kubevend credentials\` in this job`);
  const state = JSON.parse(text) as JobState;
  if (typeof state.url !== 'string' || !Array.isArray(state.issuances)) throw new CliError('usage', `${file} is not kubevend's job state`);
  return state;
}
