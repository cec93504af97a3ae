// What the API server spends an issuance when its client pauses between issuances. Through
// kubevend, each issuance reaches the API server a few milliseconds after the last one ended (the
// service's own work); the direct baseline asks again at once. This makes the direct baseline's two
// calls (the anchor Secret, the bound TokenRequest) one at a time, in alternating rounds with and
// without a pause after each issuance, and prints the CPU the API server and etcd spend an
// issuance in each (less what they spend a second idle, over each round's wall time).
//   scripts/control-plane/control-plane.sh start DIR
//   node bench/profile/spacing.ts DIR [PAUSE_MS (5)] [ROUNDS (4)] [AMOUNT (500) a round]
// It creates the namespace `bench-spacing` and its ServiceAccount; its Secrets are left to the
// control plane's own removal. What it prints is a diagnostic, not a bench figure.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { anchorManifest, DEFAULT_INSTANCE } from '../../src/services/issuance-objects.ts';
import { newIssuanceId } from '../../src/services/issuance-id.ts';
import { expectStatus, kubeHttps } from '../baseline/kube-https.ts';
import { controlPlanePids, meterCpu } from '../lib/proc.ts';

const [dir, pause = '5', rounds = '4', amount = '500'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node bench/profile/spacing.ts CONTROL_PLANE_DIR [PAUSE_MS] [ROUNDS] [AMOUNT]');
const namespace = 'bench-spacing';
const kube = kubeHttps(join(dir, 'admin.kubeconfig'), 1);
const pids = controlPlanePids(dir);
const watched = { 'kube-apiserver': pids['kube-apiserver']!, etcd: pids.etcd! };

// Already there from an earlier run is fine.
for (const [path, body] of [
  ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }],
  [`/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } }],
] as const) {
  const { status } = await kube.call('POST', path, body);
  if (status !== 201 && status !== 409) throw new Error(`creating ${path}: HTTP ${status}`);
}

async function issue(): Promise<void> {
  const manifest = anchorManifest({ instance: DEFAULT_INSTANCE, issuanceId: newIssuanceId(), pipeline: 'spacing', namespace, expiresAt: new Date(Date.now() + 900_000) });
  const anchor = expectStatus(await kube.call('POST', `/api/v1/namespaces/${namespace}/secrets`, manifest), 201, 'create anchor');
  const uid = (anchor.body.metadata as { uid: string }).uid;
  expectStatus(await kube.call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/deployer/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
    spec: { expirationSeconds: 900, audiences: [], boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: manifest.metadata.name, uid } },
  }), 201, 'TokenRequest');
}

/** CPU ms each watched process spends an issuance over `count` issuances with `pauseMs` after each. */
async function round(count: number, pauseMs: number, idle: Record<string, number>): Promise<Record<string, number>> {
  const meter = meterCpu(watched);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await issue();
    if (pauseMs > 0) await sleep(pauseMs);
  }
  const seconds = (performance.now() - started) / 1000;
  return Object.fromEntries(Object.entries(meter()).map(([name, ms]) => [name, (ms - idle[name]! * seconds) / count]));
}

await round(200, 0, { 'kube-apiserver': 0, etcd: 0 });
const idleMeter = meterCpu(watched);
await sleep(5000);
const idle = Object.fromEntries(Object.entries(idleMeter()).map(([name, ms]) => [name, ms / 5]));
process.stdout.write(`idle, CPU ms a second: ${Object.entries(idle).map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')}\n`);
const fmt = (cpu: Record<string, number>) => Object.entries(cpu).map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(', ');
for (let r = 1; r <= Number(rounds); r++) {
  for (const pauseMs of [0, Number(pause)]) {
    process.stdout.write(`round ${r}, pause ${pauseMs} ms: CPU ms an issuance: ${fmt(await round(Number(amount), pauseMs, idle))}\n`);
  }
}
process.exit(0);
