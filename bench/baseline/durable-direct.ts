// The durable-token baseline: create a `kubernetes.io/service-account-token` Secret directly, then
// watch it from the version it was created at until the token controller fills it; one at a time:
//   node bench/baseline/durable-direct.ts KUBECONFIG NAMESPACE SERVICE_ACCOUNT WARMUP COUNT
// Prints a LoadResult as JSON.
import { randomBytes } from 'node:crypto';
import type { LoadResult } from '../lib/stats.ts';
import { expectStatus, kubeHttps } from './kube-https.ts';

const [kubeconfig, namespace, serviceAccount, warmup, count] = process.argv.slice(2);
const kube = kubeHttps(kubeconfig!, 1);

async function createAndWait(): Promise<void> {
  const name = `bench-durable-${randomBytes(6).toString('hex')}`;
  const created = expectStatus(await kube.call('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
    metadata: { name, annotations: { 'kubernetes.io/service-account.name': serviceAccount } },
  }), 201, 'create token Secret');
  const resourceVersion = (created.body.metadata as { resourceVersion: string }).resourceVersion;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('not filled within 30 s'));
    }, 30_000);
    const stop = kube.stream(
      `/api/v1/namespaces/${namespace}/secrets?watch=true&fieldSelector=metadata.name%3D${name}&resourceVersion=${resourceVersion}`,
      (event) => {
        if ((event.object as { data?: { token?: string } } | undefined)?.data?.token) {
          clearTimeout(timer);
          stop();
          resolve();
        }
      },
    );
  });
}

for (let i = 0; i < Number(warmup); i++) await createAndWait();
const samples: number[] = [];
const failures: Record<string, number> = {};
const started = performance.now();
const cpu = process.cpuUsage();
for (let i = 0; i < Number(count); i++) {
  const t = performance.now();
  try {
    await createAndWait();
    samples.push(Math.round((performance.now() - t) * 1000) / 1000);
  } catch (err) {
    const key = (err as Error).message.slice(0, 40);
    failures[key] = (failures[key] ?? 0) + 1;
  }
}
const used = process.cpuUsage(cpu);
const result: LoadResult = { ok: samples.length, failures, elapsedMs: performance.now() - started, samples, clientCpuMs: (used.user + used.system) / 1000 };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
