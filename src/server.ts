import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createKubeGateway } from './kube/gateway.ts';
import { loggerOptions } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { PolicyError } from './policy/load.ts';
import { watchPolicyFile } from './policy/watch.ts';
import { memoryReplayGuard } from './store/memory-replay-guard.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino(loggerOptions(config.logLevel));
  const metrics = createMetrics();
  const policy = await watchPolicyFile(config.policyFile, {
    logger,
    onReload: (ok) => {
      metrics.policyReloads.inc({ result: ok ? 'ok' : 'refused' });
      metrics.policyReloadOk.set(ok ? 1 : 0);
    },
  });
  metrics.policyReloadOk.set(1);
  // Clusters are wired at start: a policy reload changes issuers, pipelines and operators.
  const app = await buildApp({
    policy,
    kube: createKubeGateway(policy.current().clusters),
    replay: memoryReplayGuard(),
    metrics,
    logger,
    trustProxy: config.trustProxy,
  });
  process.on('SIGHUP', () => void policy.reload());
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'closing');
    policy.close();
    await app.close();
  });
  await app.listen({ host: config.host, port: config.port });
}

main().catch((err: unknown) => {
  // Configuration errors are for people: print them plainly, without a stack trace.
  const message = err instanceof ConfigError || err instanceof PolicyError ? err.message : String((err as Error)?.stack ?? err);
  process.stderr.write(`kubevend: cannot start: ${message}\n`);
  process.exit(1);
});
