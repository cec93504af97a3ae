import { buildApp } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import type { LoadedPolicy } from '../../src/policy/load.ts';

/** The OpenAPI document as YAML, from an app with no clusters or issuers: the routes alone decide it. */
export async function openapiDocument(): Promise<string> {
  const empty: LoadedPolicy = { issuers: [], clusters: [], pipelines: [] };
  const app = await buildApp({ policy: { current: () => empty }, kube: createKubeGateway([]) });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  return yaml;
}
