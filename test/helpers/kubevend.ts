import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { createKubeGateway } from '../../src/kube/gateway.ts';
import { loggerOptions } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { watchPolicyFile, type PolicyWatcher } from '../../src/policy/watch.ts';
import { randomBytes } from 'node:crypto';
import type { KubeGateway } from '../../src/services/ports.ts';
import { createReaper, type Reaper } from '../../src/services/reaper.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/ports.ts';
import { testInstance } from './instance.ts';

export interface Kubevend {
  app: FastifyInstance;
  policy: PolicyWatcher;
  policyFile: string;
  metrics: Metrics;
  store: Store;
  /** The SQLite file of the store, unless a store was passed in. */
  dbFile: string;
  /** Key of the token fingerprints in the ledger. */
  fingerprintKey: Buffer;
  /** The reaper, to run on demand. */
  reaper: Reaper;
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
export async function startKubevend(
  dir: string,
  policy: unknown,
  options: {
    store?: Store; file?: string; durableTokenTimeoutMs?: number; auditRetentionMs?: number; maxInFlight?: number; instance?: string;
    refusalWindowMs?: number; authFailuresPerMinute?: number; ownNamespace?: string; queue?: { length?: number; maxWaitMs?: number };
    /** Wraps the real gateway, to hold a call at a chosen moment (a race no real part makes on demand). */
    wrapKube?: (kube: KubeGateway) => KubeGateway;
    /** Audit checkpoints signed, and audit sinks, as main.ts wires them from the environment. */
    audit?: Pick<AppDeps, 'checkpoints' | 'formerAuditKeys' | 'auditSinks'>;
  } = {},
): Promise<Kubevend> {
  const policyFile = options.file ?? join(dir, `policy-${Date.now()}.yaml`);
  await writeFile(policyFile, stringify(policy));
  const logs: string[] = [];
  const logger = pino(loggerOptions('debug'), { write: (line: string) => void logs.push(line) });
  const metrics = createMetrics();
  const watcher = await watchPolicyFile(policyFile, {
    logger,
    ...(options.ownNamespace ? { ownNamespace: options.ownNamespace } : {}),
    onReload: (ok) => {
      metrics.policyReloads.inc({ result: ok ? 'ok' : 'refused' });
      metrics.policyReloadOk.set(ok ? 1 : 0);
    },
  });
  // A SQLite file of its own per app: the embedded default, as a CI job meets it.
  const dbFile = join(dir, `kubevend-${randomBytes(4).toString('hex')}.db`);
  const store = options.store ?? (await openStore(`sqlite://${dbFile}`));
  const real = createKubeGateway(watcher.current().clusters, { telemetry: metrics.telemetry });
  const kube = options.wrapKube ? options.wrapKube(real) : real;
  const fingerprintKey = randomBytes(32);
  const app = await buildApp({
    policy: watcher, kube, store, metrics, logger, fingerprintKey,
    ...(options.durableTokenTimeoutMs ? { durableTokenTimeoutMs: options.durableTokenTimeoutMs } : {}),
    ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
    ...(options.refusalWindowMs ? { refusalWindowMs: options.refusalWindowMs } : {}),
    ...(options.authFailuresPerMinute ? { authFailures: { burst: options.authFailuresPerMinute, perMinute: options.authFailuresPerMinute } } : {}),
    instance: options.instance ?? testInstance,
    ...options.audit,
  });
  await app.ready();
  return {
    app, policy: watcher, policyFile, metrics, store, logs, fingerprintKey, dbFile,
    reaper: createReaper({
      policy: watcher, kube, store, logger, telemetry: metrics.telemetry, instance: options.instance ?? testInstance,
      ...(options.auditRetentionMs ? { auditRetentionMs: options.auditRetentionMs } : {}),
    }),
    close: async () => {
      watcher.close();
      await app.close();
      if (!options.store) await store.close();
    },
  };
}
