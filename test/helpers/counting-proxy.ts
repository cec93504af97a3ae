import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';

/**
 * A TCP proxy on loopback in front of the test control plane's API server that counts the
 * connections open through it. kubevend speaks HTTP/1.1 without pipelining, so a connection carries
 * one request at a time: the most connections open at once bounds the requests in flight at the
 * API server from above. Told to hold, it accepts new connections and forwards nothing, as an API
 * server that stopped answering would.
 */
export interface CountingProxy {
  /** Connections accepted so far. */
  accepted: () => number;
  /** The most connections that were open at once. */
  peak: () => number;
  hold: () => void;
  /** Forwards new connections again; those held are reset. */
  forward: () => void;
  close: () => Promise<void>;
}

export async function countingApiServer(dir: string, name: string): Promise<{ proxy: CountingProxy; kubeconfig: string }> {
  const admin = parse(await readFile(inject('kubeconfig'), 'utf8'));
  const server = new URL(admin.clusters[0].cluster.server as string);
  let [accepted, open, peak, holding] = [0, 0, 0, false];
  const sockets = new Set<Socket>();
  const held = new Set<Socket>();
  const proxy = createServer((client) => {
    accepted++;
    peak = Math.max(peak, ++open);
    sockets.add(client);
    client.on('close', () => {
      open--;
      sockets.delete(client);
      held.delete(client);
    });
    client.on('error', () => {});
    if (holding) {
      held.add(client);
      return;
    }
    const upstream = connect(Number(server.port), server.hostname);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  // The API server's certificate names 127.0.0.1, whatever the port.
  admin.clusters[0].cluster.server = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  await writeFile(kubeconfig, stringify(admin), { mode: 0o600 });
  return {
    kubeconfig,
    proxy: {
      accepted: () => accepted,
      peak: () => peak,
      hold: () => void (holding = true),
      forward() {
        holding = false;
        for (const socket of held) socket.resetAndDestroy();
      },
      async close() {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      },
    },
  };
}
