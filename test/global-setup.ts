import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const script = (name: string) => join(import.meta.dirname, '..', 'scripts', 'control-plane', name);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the control plane under test. */
    kubeconfig: string;
    /** The kubectl built with that control plane. */
    kubectl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { stdout: built } = await run('bash', [script('build.sh')], { maxBuffer: 64 << 20 });
  const kubectl = join(lastLine(built), 'kubectl');

  const reused = process.env.KUBEVEND_TEST_KUBECONFIG;
  if (reused) {
    project.provide('kubeconfig', reused);
    project.provide('kubectl', kubectl);
    return async () => {};
  }

  const dir = await mkdtemp(join(tmpdir(), 'kubevend-control-plane-'));
  const [etcd, peer, apiserver] = await freePorts(3);
  const env = { ...process.env, ETCD_PORT: `${etcd}`, ETCD_PEER_PORT: `${peer}`, APISERVER_PORT: `${apiserver}` };
  const started = Date.now();
  try {
    const { stdout } = await run('bash', [script('control-plane.sh'), 'start', dir], { env, maxBuffer: 64 << 20 });
    project.provide('kubeconfig', lastLine(stdout));
  } catch (err) {
    await run('bash', [script('control-plane.sh'), 'stop', dir], { env }).catch(() => {});
    throw err;
  }
  project.provide('kubectl', kubectl);
  console.log(`control plane ready in ${Date.now() - started} ms (kube-apiserver on 127.0.0.1:${apiserver})`);

  return async () => {
    await run('bash', [script('control-plane.sh'), 'stop', dir], { env });
    await rm(dir, { recursive: true, force: true });
  };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)!.trim();
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
