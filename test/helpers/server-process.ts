import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { testInstance } from './instance.ts';

const serverEntry = join(import.meta.dirname, '..', '..', 'src', 'server.ts');

export interface ServerProcess {
  code: Promise<number | null>;
  stderr: () => string;
  stdout: () => string;
  /** Resolves to `http://127.0.0.1:<port>` once the server listens (KUBEVEND_PORT=0 picks a port). */
  address: () => Promise<string>;
  kill: () => void;
  /** SIGKILL: the process ends at once, finishing nothing. */
  crash: () => void;
  /** Closes the reading end of its standard output, as a `| head -c N` that has had enough does. */
  closeStdout: () => void;
}

let databases = 0;

/**
 * kubevend as it runs in production: `src/server.ts` (or another entry, such as a built
 * `dist/server/server.js`) in a process of its own, configured by env.
 */
export function startServer(env: Record<string, string>, options: { entry?: string; cwd?: string; nodeArgs?: string[] } = {}): ServerProcess {
  // A database of its own beside the policy unless one is named, never in the work tree.
  const database = { KUBEVEND_DATABASE_URL: `sqlite://${join(dirname(env.KUBEVEND_POLICY_FILE ?? tmpdir()), `server-${process.pid}-${databases++}.db`)}` };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.entry ?? serverEntry], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, KUBEVEND_PORT: '0', KUBEVEND_INSTANCE: testInstance, ...database, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return {
    code,
    stdout: () => stdout,
    stderr: () => stderr,
    async address() {
      for (let i = 0; i < 200; i++) {
        const found = stdout.match(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)?.[1];
        if (found) return found;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`kubevend did not start: ${stderr}`);
    },
    kill: () => child.kill('SIGTERM'),
    crash: () => child.kill('SIGKILL'),
    closeStdout: () => child.stdout.destroy(),
  };
}
