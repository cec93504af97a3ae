import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command line tool with the given input. Never throws on exit codes. */
export function runTool(binary: string, args: string[], input = ''): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(binary, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    // A tool may exit before it reads its input (kubectl with a refused token): that is its answer, not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** Runs the real kubectl; with the admin kubeconfig unless another is given. Never throws on exit codes. */
export function kubectl(args: string[], options: { kubeconfig?: string; input?: string } = {}): Promise<KubectlResult> {
  return runTool(inject('kubectl'), ['--kubeconfig', options.kubeconfig ?? inject('kubeconfig'), ...args], options.input);
}

/** Like `kubectl`, but fails the test on a non-zero exit. */
export async function kubectlOk(args: string[], options: { kubeconfig?: string; input?: string } = {}): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** A fresh namespace with a unique name, so test files never see each other's objects. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectlOk(['create', 'namespace', name]);
  return name;
}

export async function deleteNamespaces(...names: string[]): Promise<void> {
  if (names.length) await kubectl(['delete', 'namespace', ...names, '--wait=false']);
}

/** A ServiceAccount with the built-in `view` role in its own namespace only. */
export async function createViewerServiceAccount(namespace: string, name: string): Promise<void> {
  await kubectlOk(['-n', namespace, 'create', 'serviceaccount', name]);
  await kubectlOk(['-n', namespace, 'create', 'rolebinding', `${name}-view`, '--clusterrole=view', `--serviceaccount=${namespace}:${name}`]);
}

/** A kubeconfig for the control plane that authenticates with the given bearer token only. */
export async function kubeconfigForToken(dir: string, token: string): Promise<string> {
  const admin = parse(await readFile(inject('kubeconfig'), 'utf8'));
  const file = join(dir, `token-${randomBytes(4).toString('hex')}.kubeconfig`);
  admin.users = [{ name: 'bearer', user: { token } }];
  admin.contexts = [{ name: 'bearer', context: { cluster: admin.clusters[0].name, user: 'bearer' } }];
  admin['current-context'] = 'bearer';
  await writeFile(file, stringify(admin), { mode: 0o600 });
  return file;
}

/** A real kubeconfig of the control plane whose API server address has nothing listening: connections are refused. */
export async function unreachableKubeconfig(dir: string): Promise<string> {
  const file = join(dir, `unreachable-${randomBytes(4).toString('hex')}.kubeconfig`);
  const admin = await kubectlOk(['config', 'view', '--raw']);
  await writeFile(file, admin.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'), { mode: 0o600 });
  return file;
}
