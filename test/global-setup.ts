import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const script = (...path: string[]) => join(import.meta.dirname, '..', 'scripts', ...path);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the control plane under test. */
    kubeconfig: string;
    /** The kubectl built with that control plane. */
    kubectl: string;
    /** A PostgreSQL database the store tests create their own databases through. */
    databaseUrl: string;
    /** The pinned helm the chart's tests use. */
    helm: string;
    /** The pinned promtool that checks and tests the chart's alerts. */
    promtool: string;
  }
}

type Teardown = () => Promise<void>;

// The control plane and PostgreSQL start side by side (either can be reused from the environment),
// while the pinned helm and promtool are built or found in their caches.
export default async function setup(project: TestProject): Promise<Teardown> {
  // All ports at once, so that the two never get the same one.
  const [etcd, peer, apiserver, postgres] = await freePorts(4);
  const started = await Promise.allSettled([startControlPlane(project, [etcd!, peer!, apiserver!]), startPostgres(project, postgres!), buildTool(project, 'helm'), buildTool(project, 'promtool')]);
  const teardowns = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const teardown = async () => {
    await Promise.all(teardowns.map((t) => t()));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await teardown();
    throw failed.reason;
  }
  return teardown;
}

async function startControlPlane(project: TestProject, [etcd, peer, apiserver]: number[]): Promise<Teardown> {
  const { stdout: built } = await run('bash', [script('control-plane', 'build.sh')], { maxBuffer: 64 << 20 });
  project.provide('kubectl', join(lastLine(built), 'kubectl'));

  const reused = process.env.KUBEVEND_TEST_KUBECONFIG;
  if (reused) {
    project.provide('kubeconfig', reused);
    return async () => {};
  }

  const dir = await mkdtemp(join(tmpdir(), 'kubevend-control-plane-'));
  const env = { ...process.env, ETCD_PORT: `${etcd}`, ETCD_PEER_PORT: `${peer}`, APISERVER_PORT: `${apiserver}` };
  const { printed, stop } = await runService(`control plane (kube-apiserver on 127.0.0.1:${apiserver})`, (command) =>
    run('bash', [script('control-plane', 'control-plane.sh'), command, dir], { env, maxBuffer: 64 << 20 }),
  );
  project.provide('kubeconfig', printed);
  return async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  };
}

/** A pinned Go tool, built by scripts/<tool>/build.sh or found in its cache. */
async function buildTool(project: TestProject, tool: 'helm' | 'promtool'): Promise<Teardown> {
  const { stdout } = await run('bash', [script(tool, 'build.sh')], { maxBuffer: 64 << 20 });
  project.provide(tool, lastLine(stdout));
  return async () => {};
}

async function startPostgres(project: TestProject, port: number): Promise<Teardown> {
  const reused = process.env.KUBEVEND_TEST_DATABASE_URL;
  if (reused) {
    project.provide('databaseUrl', reused);
    return async () => {};
  }

  // The script removes the directory when it stops the cluster.
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-postgres-'));
  const env = { ...process.env, PGPORT: `${port}` };
  const { printed, stop } = await runService(`PostgreSQL (on 127.0.0.1:${port})`, (command) =>
    run('bash', [script('postgres', 'postgres.sh'), command, dir], { env }),
  );
  project.provide('databaseUrl', printed);
  return stop;
}

/** Starts a service with its `start|stop` script; stops it again when it fails half-way. */
async function runService(name: string, service: (command: 'start' | 'stop') => Promise<{ stdout: string }>) {
  const started = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await service('start'));
  } catch (err) {
    await service('stop').catch(() => {});
    throw err;
  }
  console.log(`${name} ready in ${Date.now() - started} ms`);
  return { printed: lastLine(stdout), stop: async () => void (await service('stop')) };
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
