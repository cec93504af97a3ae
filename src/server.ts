import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createKubeGateway } from './kube/gateway.ts';
import { loggerOptions } from './logger.ts';
import { loadPolicyFile, PolicyError, staticPolicySource } from './policy/load.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino(loggerOptions(config.logLevel));
  const policy = await loadPolicyFile(config.policyFile);
  const app = await buildApp({
    policy: staticPolicySource(policy),
    kube: createKubeGateway(policy.clusters),
    logger,
    trustProxy: config.trustProxy,
  });
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'closing');
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
