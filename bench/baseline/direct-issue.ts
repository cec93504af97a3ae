// The upstream-bound baseline: what kubevend asks of the API server per short-lived credential (the
// anchor Secret, then a TokenRequest bound to it), made directly, CONCURRENCY at a time, nothing
// deleted, with CLIENT `https` (node:https, keep-alive) or `gateway` (kubevend's own KubeGateway):
//   node bench/baseline/direct-issue.ts CLIENT KUBECONFIG NAMESPACE SERVICE_ACCOUNT CONCURRENCY WARMUP AMOUNT MAX_SECONDS
// Prints a LoadResult as JSON.
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { anchorManifest, DEFAULT_INSTANCE } from '../../src/services/issuance-objects.ts';
import { newIssuanceId } from '../../src/services/issuance-id.ts';
import type { LoadResult } from '../lib/stats.ts';
import { expectStatus, issueDirect, kubeHttps } from './kube-https.ts';

const [client, kubeconfig, namespace, serviceAccount, concurrency, warmup, amount, maxSeconds] = process.argv.slice(2);
const ttlSeconds = 900;

type Issue = (manifest: ReturnType<typeof anchorManifest>) => Promise<void>;

function viaHttps(): Issue {
  const kube = kubeHttps(kubeconfig!, Number(concurrency));
  return async (manifest) => {
    const { what, response } = await issueDirect(kube, namespace!, serviceAccount!, manifest, ttlSeconds);
    expectStatus(response, 201, what);
  };
}

function viaGateway(): Issue {
  const kube = createKubeGateway([{ name: 'local', kubeconfig: kubeconfig! }]);
  return async (manifest) => {
    const { uid } = await kube.create('local', manifest);
    await kube.createServiceAccountToken({
      cluster: 'local', namespace: namespace!, serviceAccount: serviceAccount!, ttlSeconds, boundSecret: { name: manifest.metadata.name, uid },
    });
  };
}

const issue = client === 'gateway' ? viaGateway() : viaHttps();

async function run(total: number): Promise<LoadResult> {
  const samples: number[] = [];
  const failures: Record<string, number> = {};
  const started = performance.now();
  const cpu = process.cpuUsage();
  const deadline = started + Number(maxSeconds) * 1000;
  let issued = 0;
  let ok = 0;
  await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
    while (issued < total && performance.now() < deadline) {
      issued++;
      const manifest = anchorManifest({ instance: DEFAULT_INSTANCE, issuanceId: newIssuanceId(), pipeline: 'web', namespace: namespace!, expiresAt: new Date(Date.now() + ttlSeconds * 1000) });
      const t = performance.now();
      try {
        await issue(manifest);
        samples.push(Math.round((performance.now() - t) * 1000) / 1000);
        ok++;
      } catch (err) {
        const key = (err as Error).message.slice(0, 40);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    }
  }));
  const used = process.cpuUsage(cpu);
  return { ok, failures, elapsedMs: performance.now() - started, samples, clientCpuMs: (used.user + used.system) / 1000 };
}

if (Number(warmup) > 0) await run(Number(warmup));
process.stdout.write(`${JSON.stringify(await run(Number(amount)))}\n`);
process.exit(0);
