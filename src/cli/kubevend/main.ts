#!/usr/bin/env node
// The `kubevend` command. Built into one file (scripts/bundle.ts) that imports nothing but Node's
// own modules, so it starts in a CI job without the server's dependencies.
import type { CommandContext } from './context.ts';
import { runCommand } from './run.ts';

const context: CommandContext = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  say: (line) => void process.stderr.write(`kubevend: ${line}\n`),
};
process.exitCode = await runCommand(process.argv.slice(2), context);
