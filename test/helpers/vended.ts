import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kubectl } from './cluster.ts';
import { testInstance } from './instance.ts';

/** Saves a vended kubeconfig as a CI job would. */
export async function saveKubeconfig(dir: string, text: string): Promise<string> {
  const file = join(dir, `vended-${Math.random().toString(16).slice(2)}.kubeconfig`);
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

/** The token inside a vended kubeconfig. */
export function tokenOf(kubeconfig: string): string {
  return parse(kubeconfig).users[0].user.token as string;
}

/** The API server's own answer: may this kubeconfig do `verb resource` (in a namespace)? */
export async function can(kubeconfig: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
  const result = await kubectl(args, { kubeconfig });
  if (result.code !== 0 && !/^no/m.test(result.stdout)) throw new Error(`kubectl auth can-i failed: ${result.stderr}`);
  return result.code === 0;
}

/** Polls until the API server no longer accepts the kubeconfig's token; true when it was refused. */
export async function refusedWithin(kubeconfig: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const result = await kubectl(['auth', 'whoami'], { kubeconfig });
    if (result.code !== 0 && /unauthorized|must be logged in/i.test(result.stderr)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Names of objects of these kinds that carry the label selector, in every namespace, made by this
 * test file's installation: other files, running at once, make and remove objects of pipelines
 * with the same names.
 */
export async function labelled(selector: string, kinds = 'secrets,serviceaccounts,roles,rolebindings'): Promise<string[]> {
  const own = `${selector},kubevend.io/instance=${testInstance}`;
  const namespaced = await kubectl(['get', kinds, '-A', '-l', own, '-o', 'name']);
  const cluster = await kubectl(['get', 'clusterroles,clusterrolebindings', '-l', own, '-o', 'name']);
  return `${namespaced.stdout}${cluster.stdout}`.split('\n').filter(Boolean);
}
