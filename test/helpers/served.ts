import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims } from './ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './cluster.ts';
import { scratchDir } from './kubevend.ts';
import { startServer } from './server-process.ts';

export interface ServedKubevend {
  /** `http://127.0.0.1:<port>` of the running server. */
  url: string;
  /** A fresh CI token of pipeline `web` (repository acme/web). */
  ciToken: () => Promise<string>;
  /** A fresh CI token no pipeline matches. */
  strangerToken: () => Promise<string>;
  namespace: string;
  dir: string;
  close: () => Promise<void>;
}

/**
 * The real server (`src/server.ts` in a process of its own, as it runs in production) with one
 * pipeline, `web`, granted the `deployer` ServiceAccount of a fresh namespace of the local cluster.
 */
export async function startServedKubevend(prefix: string, env: Record<string, string> = {}): Promise<ServedKubevend> {
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
  const server = startServer({ KUBEVEND_POLICY_FILE: policyFile, ...env });
  const url = await server.address();
  return {
    url,
    namespace,
    dir: scratch.dir,
    ciToken: () => ci.mint(githubClaims('acme/web')),
    strangerToken: () => ci.mint(githubClaims('acme/stranger')),
    async close() {
      server.kill();
      await server.code;
      await deleteNamespaces(namespace);
      await scratch.cleanup();
    },
  };
}
