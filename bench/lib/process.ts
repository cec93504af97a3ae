import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';

// Child processes of the bench: every one is tracked so that an interrupted run leaves none behind.

const live = new Set<ChildProcess>();

export interface Child {
  pid: number;
  exited: Promise<number | null>;
  stderr(): string;
  /** Sends a message over the IPC channel (children started with `ipc`) and resolves to the answer. */
  ask<T>(message: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface NodeOptions {
  env?: Record<string, string>;
  /** Where stdout goes: a file, or nowhere. */
  stdoutFile?: string;
  ipc?: boolean;
  nodeArgs?: string[];
}

/** Starts `script` on the Node that runs the bench (the project's pinned one under npm). */
export function startNode(script: string, args: string[] = [], options: NodeOptions = {}): Child {
  const stdout = options.stdoutFile ? openSync(options.stdoutFile, 'a') : 'ignore';
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', stdout, 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
  });
  return track(child);
}

function track(child: ChildProcess): Child {
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));
  const answers: ((m: unknown) => void)[] = [];
  child.on('message', (m) => answers.shift()?.(m));
  return {
    pid: child.pid!,
    exited,
    stderr: () => stderr,
    ask: <T>(message: unknown) => new Promise<T>((resolve) => {
      answers.push(resolve as (m: unknown) => void);
      child.send!(message as object);
    }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to its end (killed after `timeoutMs`); its stdout, or an error with its stderr. */
export function runCommand(command: string, args: string[], options: { env?: Record<string, string>; timeoutMs: number }): Promise<string> {
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = track(child);
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const timer = setTimeout(() => void tracked.stop(), options.timeoutMs);
  return tracked.exited.then((code) => {
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${tracked.stderr().slice(-2000)}`);
    return stdout;
  });
}

/** Runs a Node script to its end and parses the JSON of its last stdout line. */
export async function runNodeJson<T>(script: string, args: string[], options: { env?: Record<string, string>; timeoutMs: number }): Promise<T> {
  const stdout = await runCommand(process.execPath, [script, ...args], options);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
}

/** Kills whatever is still running (on an interrupted run). */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
