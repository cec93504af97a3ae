import { buildApp } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { staticPolicySource, type LoadedPolicy } from '../../src/policy/load.ts';
import { memoryReplayGuard } from '../../src/store/memory-replay-guard.ts';

/** The OpenAPI document as YAML, from an app with no clusters or issuers: the routes alone decide it. */
export async function openapiDocument(): Promise<string> {
  const empty: LoadedPolicy = { issuers: [], clusters: [], pipelines: [], operators: [] };
  const app = await buildApp({ policy: staticPolicySource(empty), kube: createKubeGateway([]), replay: memoryReplayGuard() });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  return yaml;
}
