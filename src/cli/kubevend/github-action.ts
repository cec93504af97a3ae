// The GitHub Action (action.yml at the repository's root): its main step runs `kubevend
// credentials` with the step's inputs, its post step `kubevend revoke` at the end of the job.
// The runner hands inputs over as INPUT_<NAME> and the post step the state saved as STATE_<name>.
import { appendFile } from 'node:fs/promises';
import type { CommandContext } from './context.ts';
import { runCommand } from './run.ts';
import { jobDir, stateFileIn } from './state.ts';

const env = process.env;
const input = (name: string) => (env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] ?? '').trim();
const flag = (name: string, value = input(name)) => (value ? [`--${name}`, value] : []);
// Workflow commands take their data with %, CR and LF escaped.
const escape = (text: string) => text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');

const context: CommandContext = {
  env,
  stdout: (text) => void process.stdout.write(text),
  say: (line) => void process.stdout.write(`kubevend: ${line}\n`),
  fail: (line) => void process.stdout.write(`::error title=kubevend::${escape(line)}\n`),
};

const common = [...flag('url'), ...flag('audience'), ...flag('deadline')];
if (env.STATE_isPost === 'true') {
  // The post step: what the main step issued is revoked, unless the workflow keeps it.
  if (input('revoke') !== 'false' && env.STATE_state) process.exitCode = await runCommand(['revoke', ...common, '--state', env.STATE_state], context);
} else {
  if (env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, 'isPost=true\n');
  const args = ['credentials', ...common, ...flag('cluster'), ...flag('namespace'), ...flag('service-account'), ...flag('ttl'), ...flag('kind'), ...flag('format')];
  process.exitCode = await runCommand(args, context);
  if (process.exitCode === 0 && env.GITHUB_STATE) await appendFile(env.GITHUB_STATE, `state=${stateFileIn(await jobDir(env))}\n`);
}
