import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims } from './ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './cluster.ts';
import { scratchDir } from './kubevend.ts';
import { startServer, type ServerProcess } from './server-process.ts';
import { engines, type FreshDatabase } from './store.ts';

export interface ServedKubevend {
  /** `http://127.0.0.1:<port>` of the running server (the first replica). */
  url: string;
  /** Every replica's address. */
  urls: string[];
  /** A fresh CI token of pipeline `web` (repository acme/web). */
  ciToken: () => Promise<string>;
  /** A fresh CI token no pipeline matches. */
  strangerToken: () => Promise<string>;
  namespace: string;
  dir: string;
  /** The first replica's process. */
  server: ServerProcess;
  close: () => Promise<void>;
}

/**
 * The real server (`src/server.ts` in a process of its own, as it runs in production) with one
 * pipeline, `web`, granted the `deployer` ServiceAccount of a fresh namespace of the local cluster.
 */
export async function startServedKubevend(
  prefix: string,
  options: { env?: Record<string, string>; replicas?: number; postgres?: boolean } = {},
): Promise<ServedKubevend> {
  const scratch = await scratchDir();
  const ci = await createTestIssuer(scratch.dir);
  const namespace = await createNamespace(prefix);
  await createViewerServiceAccount(namespace, 'deployer');
  const policy = {
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
    clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
    pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace, serviceAccount: 'deployer' }] }],
  };
  const policyFile = join(scratch.dir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  // Replicas share one PostgreSQL database of their own; one replica alone has a SQLite file.
  let database: FreshDatabase | undefined;
  const shared: Record<string, string> = {};
  if (options.postgres) {
    database = await engines.find((e) => e.name === 'postgres')!.fresh();
    const keyFile = join(scratch.dir, 'fingerprint.key');
    await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    Object.assign(shared, { KUBEVEND_DATABASE_URL: database.url, KUBEVEND_FINGERPRINT_KEY_FILE: keyFile });
  }
  const servers = Array.from({ length: options.replicas ?? 1 }, () => startServer({ KUBEVEND_POLICY_FILE: policyFile, ...shared, ...options.env }));
  const urls = await Promise.all(servers.map((s) => s.address()));
  return {
    url: urls[0]!,
    urls,
    namespace,
    dir: scratch.dir,
    server: servers[0]!,
    ciToken: () => ci.mint(githubClaims('acme/web')),
    strangerToken: () => ci.mint(githubClaims('acme/stranger')),
    async close() {
      for (const s of servers) s.kill();
      await Promise.all(servers.map((s) => s.code));
      await database?.drop();
      await deleteNamespaces(namespace);
      await scratch.cleanup();
    },
  };
}

/** One scrape of a server's /metrics: each series (name and labels as written) and its value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (m) series.set(m[1]!, Number(m[2]));
  }
  return series;
}
