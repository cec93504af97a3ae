import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { buildApp } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { loggerOptions } from '../../src/logger.ts';
import { loadPolicyFile, staticPolicySource } from '../../src/policy/load.ts';

export interface Kubevend {
  app: FastifyInstance;
  /** Every log line the app wrote, as text. */
  logs: string[];
  close(): Promise<void>;
}

/** A scratch directory for keys, policies and kubeconfigs, removed by `cleanup`. */
export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes the policy to a file, loads it as the server does and builds the app on the real gateway. */
export async function startKubevend(dir: string, policy: unknown): Promise<Kubevend> {
  const file = join(dir, `policy-${Date.now()}.yaml`);
  await writeFile(file, stringify(policy));
  const loaded = await loadPolicyFile(file);
  const logs: string[] = [];
  const logger = pino(loggerOptions('debug'), { write: (line: string) => void logs.push(line) });
  const app = await buildApp({ policy: staticPolicySource(loaded), kube: createKubeGateway(loaded.clusters), logger });
  await app.ready();
  return { app, logs, close: () => app.close() };
}
