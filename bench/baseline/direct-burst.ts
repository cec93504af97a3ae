// The burst's baseline: the same jobs as direct calls to the API server, every one at once, each the
// two calls kubevend makes (kube-https.ts issueDirect) on a connection of its own, no retries:
//   node bench/baseline/direct-burst.ts KUBECONFIG NAMESPACE SERVICE_ACCOUNT ORDER.json
// ORDER.json lists the pipeline of each job (a label here: the API server knows no pipelines).
// Prints every answer as JSON (load/burst.ts BurstAnswer).
import { readFileSync } from 'node:fs';
import { anchorManifest, DEFAULT_INSTANCE } from '../../src/services/issuance-objects.ts';
import { newIssuanceId } from '../../src/services/issuance-id.ts';
import type { BurstAnswer } from '../load/burst.ts';
import { issueDirect, kubeHttps } from './kube-https.ts';

const [kubeconfig, namespace, serviceAccount, orderFile] = process.argv.slice(2);
const order = JSON.parse(readFileSync(orderFile!, 'utf8')) as string[];
const ttlSeconds = 900;
const kube = kubeHttps(kubeconfig!, order.length);
const manifests = order.map((pipeline) =>
  anchorManifest({ instance: DEFAULT_INSTANCE, issuanceId: newIssuanceId(), pipeline, namespace: namespace!, expiresAt: new Date(Date.now() + ttlSeconds * 1000) }));
const started = performance.now();

const answers = await Promise.all(order.map(async (pipeline, i): Promise<BurstAnswer> => {
  try {
    const { response } = await issueDirect(kube, namespace!, serviceAccount!, manifests[i]!, ttlSeconds);
    const code = response.status === 201 ? '' : String(response.body.reason ?? 'no reason');
    return { pipeline, status: response.status, code, ms: performance.now() - started };
  } catch (err) {
    return { pipeline, status: 0, code: (err as NodeJS.ErrnoException).code ?? (err as Error).name, ms: performance.now() - started };
  }
}));
process.stdout.write(`${JSON.stringify(answers)}\n`);
process.exit(0);
