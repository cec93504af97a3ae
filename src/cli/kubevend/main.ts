#!/usr/bin/env node
// The `kubevend` command. Built into one file (scripts/bundle.ts) that imports nothing but Node's
// own modules, so it starts in a CI job without the server's dependencies.
import type { CommandContext } from './context.ts';
import { printable } from './output.ts';
import { runCommand } from './run.ts';

const context: CommandContext = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  // A CI runner reads stderr for its commands too: every line is made one line of plain text.
  say: (line) => void process.stderr.write(`kubevend: ${printable(line)}\n`),
};
process.exitCode = await runCommand(process.argv.slice(2), context);
