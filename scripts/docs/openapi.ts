import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { staticPolicySource, type LoadedPolicy } from '../../src/policy/load.ts';
import { openStore } from '../../src/store/open.ts';

/** The OpenAPI document as YAML, from an app with no clusters or issuers: the routes alone decide it. */
export async function openapiDocument(): Promise<string> {
  const empty: LoadedPolicy = { issuers: [], clusters: [], pipelines: [], operators: [], protectedNamespaces: [] };
  const store = await openStore('sqlite::memory:');
  const app = await buildApp({ policy: staticPolicySource(empty), kube: createKubeGateway([]), store, fingerprintKey: randomBytes(32) });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  await store.close();
  return yaml;
}
