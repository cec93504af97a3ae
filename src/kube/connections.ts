import type { AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

type Dispatcher = { close(): Promise<void> };
type DispatcherFactory = (cluster: Cluster | null, options: AgentOptions) => Dispatcher | undefined;

/** The options that make a TLS connection to the API server what it is. */
export const tlsFields = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
const same = (a: unknown, b: unknown) => a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));

/** Whether two sets of options would make the same TLS connection: a kept connection may serve both. */
export function sameTls(a: AgentOptions, b: AgentOptions): boolean {
  return tlsFields.every((field) => same(a[field], b[field]));
}

/**
 * client-node makes a new undici Agent for every call (watches too), so every call paid a new TLS
 * handshake and left a connection behind. This keeps the cluster's Agent, and its connections, for
 * as long as the TLS material it was made with stays the same; the files are still read on every
 * call, so a rotated certificate gets a new Agent.
 */
export function reuseConnections(kc: KubeConfig): void {
  const internals = kc as unknown as { createDispatcher?: DispatcherFactory };
  const create = internals.createDispatcher?.bind(kc);
  if (!create) return;
  let current: { cluster: Cluster | null; options: AgentOptions; dispatcher: Dispatcher | undefined } | undefined;
  internals.createDispatcher = (cluster, options) => {
    const unchanged = current && current.cluster?.server === cluster?.server && current.cluster?.proxyUrl === cluster?.proxyUrl
      && sameTls(current!.options, options);
    if (unchanged) return current!.dispatcher;
    // Calls still running on the old Agent finish; it closes after them.
    void current?.dispatcher?.close().catch(() => {});
    current = { cluster, options, dispatcher: create(cluster, options) };
    return current.dispatcher;
  };
}
