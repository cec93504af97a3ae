import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { kubectl, type ClusterAccess } from './cluster.ts';

const run = promisify(execFile);
const script = (...path: string[]) => join(import.meta.dirname, '..', ...path);

export type Component = 'kube-apiserver' | 'etcd';

/**
 * A control plane of the chaos suite's own (scripts/control-plane/control-plane.sh on ports of its
 * own): its API server and etcd are stopped and killed, which the control plane other tests share
 * must never be.
 */
export interface OwnControlPlane {
  access: ClusterAccess;
  /** SIGSTOP: the process keeps its sockets and answers nothing, as a hung host does. Resolves to its SIGCONT. */
  freeze(component: Component): Promise<() => void>;
  /** SIGKILL, then the same command line again on the same data; resolves once the API server is ready. */
  killAndRestart(component: Component, down?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The kubectl (and the rest) scripts/control-plane/build.sh built or found in its cache. */
export async function builtKubectl(): Promise<string> {
  const { stdout } = await run('bash', [script('control-plane', 'build.sh')], { maxBuffer: 64 << 20 });
  return join(stdout.trim().split('\n').at(-1)!.trim(), 'kubectl');
}

export async function startOwnControlPlane(kubectlBinary: string): Promise<OwnControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-chaos-cp-'));
  const [etcd, peer, apiserver] = await freePorts(3);
  const env = { ...process.env, ETCD_PORT: `${etcd}`, ETCD_PEER_PORT: `${peer}`, APISERVER_PORT: `${apiserver}` };
  const cp = (command: 'start' | 'stop') => run('bash', [script('control-plane', 'control-plane.sh'), command, dir], { env, maxBuffer: 64 << 20 });
  // What is frozen is let go before the stop, or it would never end.
  const frozen: (() => void)[] = [];
  const stop = async () => {
    for (const thaw of frozen.splice(0)) thaw();
    await cp('stop').catch(() => {});
    if (!process.env.CHAOS_KEEP) await rm(dir, { recursive: true, force: true });
  };
  try {
    await cp('start');
  } catch (err) {
    await stop();
    throw err;
  }
  const access = { kubeconfig: join(dir, 'admin.kubeconfig'), kubectl: kubectlBinary };
  const pidOf = async (component: Component) => Number((await readFile(join(dir, `${component}.pid`), 'utf8')).trim());

  return {
    access,
    stop,
    async freeze(component) {
      const pid = await pidOf(component);
      process.kill(pid, 'SIGSTOP');
      let thawed = false;
      const thaw = () => {
        if (thawed) return;
        thawed = true;
        process.kill(pid, 'SIGCONT');
      };
      frozen.push(thaw);
      return thaw;
    },
    async killAndRestart(component, downMs = 0) {
      const pid = await pidOf(component);
      // The command line as the script started it, read before the process is gone.
      const binary = await readlink(`/proc/${pid}/exe`);
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(1, -1);
      process.kill(pid, 'SIGKILL');
      await gone(pid);
      await sleep(downMs);
      const log = openSync(join(dir, 'logs', `${component}.log`), 'a');
      const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
      closeSync(log);
      child.unref();
      // control-plane.sh stop finds it by its pid file, as it would have the first one.
      await writeFile(join(dir, `${component}.pid`), `${child.pid}\n`);
      await ready(access);
    },
  };
}

/** Until the process has exited (or is a zombie nobody has reaped yet). */
async function gone(pid: number): Promise<void> {
  for (;;) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (!status || /^State:\s+Z/m.test(status)) return;
    await sleep(20);
  }
}

/** Until the API server answers its readiness (which includes etcd), at most 60 s. */
export async function ready(access: ClusterAccess): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
    if ((await kubectl(access, ['get', '--raw', '/readyz'])).code === 0) return;
  }
  throw new Error('the control plane was not ready again within 60 s');
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
