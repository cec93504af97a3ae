import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { buildApp } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { loggerOptions } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { watchPolicyFile, type PolicyWatcher } from '../../src/policy/watch.ts';
import type { ReplayGuard } from '../../src/services/ports.ts';
import { memoryReplayGuard } from '../../src/store/memory-replay-guard.ts';

export interface Kubevend {
  app: FastifyInstance;
  policy: PolicyWatcher;
  policyFile: string;
  metrics: Metrics;
  /** Every log line the app wrote, as text. */
  logs: string[];
  close(): Promise<void>;
}

/** A scratch directory for keys, policies and kubeconfigs, removed by `cleanup`. */
export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Writes the policy to a file and wires the app as the server does: the watched policy file, the
 * real gateway, and a log stream the test can read.
 */
export async function startKubevend(dir: string, policy: unknown, options: { replay?: ReplayGuard; file?: string } = {}): Promise<Kubevend> {
  const policyFile = options.file ?? join(dir, `policy-${Date.now()}.yaml`);
  await writeFile(policyFile, stringify(policy));
  const logs: string[] = [];
  const logger = pino(loggerOptions('debug'), { write: (line: string) => void logs.push(line) });
  const metrics = createMetrics();
  const watcher = await watchPolicyFile(policyFile, {
    logger,
    onReload: (ok) => {
      metrics.policyReloads.inc({ result: ok ? 'ok' : 'refused' });
      metrics.policyReloadOk.set(ok ? 1 : 0);
    },
  });
  const app = await buildApp({
    policy: watcher,
    kube: createKubeGateway(watcher.current().clusters),
    replay: options.replay ?? memoryReplayGuard(),
    metrics,
    logger,
  });
  await app.ready();
  return {
    app, policy: watcher, policyFile, metrics, logs,
    close: async () => {
      watcher.close();
      await app.close();
    },
  };
}
