import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';

/**
 * A TCP proxy on loopback in front of a real server (the control plane's API server, PostgreSQL).
 * Told to hang, it behaves as that server stopped with SIGSTOP does: connections are accepted and
 * never answered, and those under way go quiet. The shared services other test files use are never
 * stopped; only what passes through this proxy is.
 */
export interface HangingProxy {
  port: number;
  hang: () => void;
  /** Goes on as a server continued with SIGCONT does: what was held is answered. */
  resume: () => void;
  /** Resets every connection, as the server's crash would. */
  crash: () => void;
  close: () => Promise<void>;
}

export async function startHangingProxy(target: { host: string; port: number }): Promise<HangingProxy> {
  let hanging = false;
  /** Each connection, with its way to the server once it has one. */
  const links = new Map<Socket, Socket | undefined>();
  const forward = (client: Socket) => {
    let upstream = links.get(client);
    if (!upstream) {
      upstream = connect(target.port, target.host);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      links.set(client, upstream);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    links.set(client, undefined);
    client.on('error', () => {});
    client.on('close', () => {
      links.get(client)?.destroy();
      links.delete(client);
    });
    // Held, the bytes the client sends wait unread in its socket.
    if (!hanging) forward(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    hang() {
      hanging = true;
      // Bytes under way stop where they are: neither side reads from the other any more.
      for (const [client, upstream] of links) {
        if (!upstream) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      hanging = false;
      for (const client of links.keys()) forward(client);
    },
    crash() {
      for (const client of links.keys()) client.resetAndDestroy();
    },
    async close() {
      for (const client of links.keys()) client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A proxy in front of the test control plane's API server, and an admin kubeconfig that goes through it. */
export async function hangingApiServer(dir: string, name: string): Promise<{ proxy: HangingProxy; kubeconfig: string }> {
  const admin = parse(await readFile(inject('kubeconfig'), 'utf8'));
  const server = new URL(admin.clusters[0].cluster.server as string);
  const proxy = await startHangingProxy({ host: server.hostname, port: Number(server.port) });
  // The API server's certificate names 127.0.0.1, whatever the port.
  admin.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  await writeFile(kubeconfig, stringify(admin), { mode: 0o600 });
  return { proxy, kubeconfig };
}
