import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './process.ts';

// The services a run needs, started with the project's own scripts on free loopback ports.

const scripts = join(import.meta.dirname, '..', '..', 'scripts');

/** Takes the stop of a service before it starts, so that a run interrupted mid-start still stops it. */
export type StopRegistry = (stop: () => Promise<void>) => void;

/** Ports the kernel hands out now; free until someone takes them. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  return ports;
}

/** Starts a service with its `start|stop DIR` script; the last line it prints (a path or URL). */
async function startWithScript(script: string, dir: string, env: Record<string, string>, timeoutMs: number, register: StopRegistry): Promise<string> {
  const stop = async () => void (await runCommand('bash', [script, 'stop', dir], { env, timeoutMs: 60_000 }).catch(() => ''));
  register(stop);
  try {
    const printed = await runCommand('bash', [script, 'start', dir], { env, timeoutMs });
    return printed.trim().split('\n').at(-1)!.trim();
  } catch (err) {
    await stop();
    throw err;
  }
}

/** etcd, kube-apiserver and kube-controller-manager; resolves to the admin kubeconfig. */
export async function startControlPlane(dir: string, [etcd, peer, apiserver]: number[], register: StopRegistry): Promise<string> {
  await mkdir(dir, { recursive: true });
  const env = { ETCD_PORT: `${etcd}`, ETCD_PEER_PORT: `${peer}`, APISERVER_PORT: `${apiserver}` };
  // The first run on a machine builds the binaries from the Go module proxy: allow for it.
  return startWithScript(join(scripts, 'control-plane', 'control-plane.sh'), dir, env, 20 * 60_000, register);
}

/**
 * A throwaway PostgreSQL; resolves to the URL of its `kubevend` database. Its directory is a
 * top-level one of its own, which the `postgres` user can reach; stopping removes it.
 */
export async function startPostgres(port: number, register: StopRegistry): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-bench-postgres-'));
  return startWithScript(join(scripts, 'postgres', 'postgres.sh'), dir, { PGPORT: `${port}` }, 120_000, register);
}
