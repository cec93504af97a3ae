import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { auditFromConfig } from './audit-config.ts';
import { loadFingerprintKey } from './fingerprint-key.ts';
import { createKubeGateway } from './kube/gateway.ts';
import { loggerOptions } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { PolicyError } from './policy/load.ts';
import { watchPolicyFile } from './policy/watch.ts';
import { keepLease } from './services/lease.ts';
import { createReaper } from './services/reaper.ts';
import { openStore } from './store/open.ts';

/** Starts kubevend as configured by its environment; `server.ts` is the entry that calls it. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino(loggerOptions(config.logLevel));
  const metrics = createMetrics(config.commit ? { commit: config.commit } : {});
  const ownNamespace = config.namespace ?? (await podNamespace());
  const policy = await watchPolicyFile(config.policyFile, {
    logger,
    ...(ownNamespace ? { ownNamespace } : {}),
    onReload: (ok) => {
      metrics.policyReloads.inc({ result: ok ? 'ok' : 'refused' });
      metrics.policyReloadOk.set(ok ? 1 : 0);
    },
  });
  metrics.policyReloadOk.set(1);
  const fingerprintKey = await loadFingerprintKey(config.fingerprintKeyFile, config.databaseUrl);
  const audit = await auditFromConfig(config, { logger, onDropped: metrics.auditSinkDropped });
  const store = await openStore(config.databaseUrl, { logger }).catch((err: Error) => {
    throw new ConfigError(`KUBEVEND_DATABASE_URL: ${err.message}`);
  });
  // Clusters are wired at start: a policy reload changes issuers, pipelines and operators.
  const kube = createKubeGateway(policy.current().clusters, { telemetry: metrics.telemetry });
  // A new id each start: a process that died and came back is another replica, and what the dead one
  // left pending is healed once its lease lapses.
  const replica = randomUUID();
  const app = await buildApp({
    policy, kube, store, fingerprintKey, metrics, logger, replica,
    trustProxy: config.trustProxy,
    durableTokenTimeoutMs: config.durableTokenTimeoutSeconds * 1000,
    maxInFlight: config.maxInFlight,
    queue: { length: config.queueLength, maxWaitMs: config.queueWaitSeconds * 1000 },
    instance: config.instance,
    ...audit,
    ...(config.authFailuresPerMinute ? { authFailures: { burst: config.authFailuresPerMinute, perMinute: config.authFailuresPerMinute } } : { authFailures: { off: true } }),
  });
  const reaper = config.reaperIntervalSeconds > 0
    ? createReaper({ policy, kube, store, logger, telemetry: metrics.telemetry, auditRetentionMs: config.auditRetentionSeconds * 1000, instance: config.instance, replica })
    : undefined;
  const stopReaper = reaper ? reaper.start(config.reaperIntervalSeconds * 1000) : () => {};
  const lease = await keepLease({ store, replica, logger, ...(reaper ? { onTick: () => reaper.healOnce() } : {}) });
  process.on('SIGHUP', () => void policy.reload());
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'closing');
    stopReaper();
    policy.close();
    await app.close();
    await lease.stop();
    await store.close();
    logger.info('closed');
  });
  await app.listen({ host: config.host, port: config.port });
}

/** The namespace of the pod kubevend runs in, from its ServiceAccount's mount; undefined outside a pod. */
async function podNamespace(): Promise<string | undefined> {
  const text = await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
}

/** Configuration errors are for people: printed plainly, without a stack trace. */
export function startFailure(err: unknown): never {
  const message = err instanceof ConfigError || err instanceof PolicyError ? err.message : String((err as Error)?.stack ?? err);
  process.stderr.write(`kubevend: cannot start: ${message}\n`);
  process.exit(1);
}
