// The GitHub Action (action.yml at the repository's root): its main step runs `kubevend
// credentials` with the step's inputs, its post step `kubevend revoke` at the end of the job.
// The runner hands inputs over as INPUT_<NAME> and the post step the state saved as STATE_<name>.
import { access, appendFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeData } from './ci.ts';
import type { CommandContext } from './context.ts';
import { defaultName } from './credentials.ts';
import { printable } from './output.ts';
import { runCommand } from './run.ts';
import { stateFileIn } from './state.ts';

const env = process.env;
const input = (name: string) => (env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] ?? '').trim();
const flag = (name: string, value = input(name)) => (value ? [`--${name}`, value] : []);

// The runner reads stdout for workflow commands: a line of the command's (which may quote the
// service or an input) is one line of plain text, and an error is a command's escaped data.
const context: CommandContext = {
  env,
  stdout: (text) => void process.stdout.write(text),
  say: (line) => void process.stdout.write(`kubevend: ${printable(line)}\n`),
  fail: (line) => void process.stdout.write(`::error title=kubevend::${escapeData(line)}\n`),
};

const common = [...flag('url'), ...flag('audience'), ...flag('deadline'), ...(input('insecure-http') === 'true' ? ['--insecure-http'] : [])];
if (env.STATE_isPost === 'true') {
  // The post step: what the main step issued is revoked, unless the workflow keeps it.
  if (input('revoke') !== 'false' && env.STATE_state) process.exitCode = await runCommand(['revoke', ...common, '--state', env.STATE_state], context);
} else {
  if (env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, 'isPost=true\n');
  // A folder of this step's own: a job using the Action twice gets two credentials, each revoked
  // by its own post step.
  const dir = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'kubevend-'));
  const format = input('format') || 'kubeconfig';
  const file = format in defaultName ? ['--file', join(dir, defaultName[format as keyof typeof defaultName])] : [];
  const args = ['credentials', ...common, ...flag('cluster'), ...flag('namespace'), ...flag('service-account'), ...flag('ttl'), ...flag('kind'), ...flag('format'), ...file];
  process.exitCode = await runCommand(args, context);
  const issued = await access(stateFileIn(dir)).then(() => true, () => false);
  if (process.exitCode === 0 && issued && env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, `state=${stateFileIn(dir)}\n`);
}
