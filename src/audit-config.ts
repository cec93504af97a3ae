import type { AppDeps } from './app.ts';
import { ConfigError, type Config } from './config.ts';
import { KeyFileError, loadPublicKeys, loadSigningKey } from './ledger/signing-key.ts';
import type { ServiceLogger } from './services/ports.ts';
import { sinksFromConfig } from './sinks/from-config.ts';

/**
 * The checkpoint signing key, earlier public keys and the audit sinks, as the environment asks. A key
 * or token file that cannot be used stops the start with a message naming it, never its contents.
 */
export async function auditFromConfig(config: Config, deps: { logger?: ServiceLogger; onDropped?: (sink: string, count: number) => void }): Promise<Pick<AppDeps, 'checkpoints' | 'formerAuditKeys' | 'auditSinks'>> {
  const asConfig = (variable: string) => (err: Error) => {
    throw err instanceof KeyFileError ? new ConfigError(`${variable}: ${err.message}`) : err;
  };
  const key = config.auditSigningKeyFile ? await loadSigningKey(config.auditSigningKeyFile).catch(asConfig('KUBEVEND_AUDIT_SIGNING_KEY_FILE')) : undefined;
  const former = config.auditPublicKeysFile ? await loadPublicKeys(config.auditPublicKeysFile).catch(asConfig('KUBEVEND_AUDIT_PUBLIC_KEYS_FILE')) : undefined;
  const auditSinks = await sinksFromConfig(config.auditSinks, deps).catch((err: Error) => {
    throw new ConfigError(err.message);
  });
  return {
    ...(key ? {
      checkpoints: {
        key, origin: config.instance, everyRecords: config.checkpointRecords, intervalMs: config.checkpointIntervalSeconds * 1000,
        ...(config.auditSignerStateFile ? { stateFile: config.auditSignerStateFile } : {}),
      },
    } : {}),
    ...(former ? { formerAuditKeys: former } : {}),
    ...(auditSinks.length ? { auditSinks } : {}),
  };
}
