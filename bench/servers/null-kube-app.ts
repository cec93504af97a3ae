// kubevend as src/main.ts wires it (environment, policy file, store, logger, routes), with the
// zero-latency gateway in place of the API server: what a request costs kubevend itself.
// kubevend-null-kube.ts is its entry.
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { auditFromConfig } from '../../src/audit-config.ts';
import { loadConfig } from '../../src/config.ts';
import { loadFingerprintKey } from '../../src/fingerprint-key.ts';
import { loggerOptions } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { watchPolicyFile } from '../../src/policy/watch.ts';
import { openStore } from '../../src/store/open.ts';
import { nullKubeGateway } from './null-gateway.ts';
import { reportUsage } from './report-usage.ts';

const config = loadConfig();
const logger = pino(loggerOptions(config.logLevel));
const policy = await watchPolicyFile(config.policyFile, { logger });
const fingerprintKey = await loadFingerprintKey(config.fingerprintKeyFile, config.databaseUrl);
const store = await openStore(config.databaseUrl);
const metrics = createMetrics();
const app = await buildApp({
  policy, kube: nullKubeGateway(), store, fingerprintKey, metrics, logger,
  durableTokenTimeoutMs: config.durableTokenTimeoutSeconds * 1000,
  ...(await auditFromConfig(config, { logger, onDropped: metrics.auditSinkDropped })),
});
reportUsage();
process.once('SIGTERM', async () => {
  policy.close();
  await app.close();
  await store.close();
  process.exit(0);
});
await app.listen({ host: config.host, port: config.port });
