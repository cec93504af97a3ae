import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Everything kubevend reads from its environment, validated once at start.
const configSchema = z.object({
  KUBEVEND_POLICY_FILE: z.string().min(1).describe('Path of the policy file (YAML)'),
  KUBEVEND_HOST: z.string().min(1).default('127.0.0.1').describe('Address to listen on'),
  KUBEVEND_PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('Port to listen on'),
  KUBEVEND_LOG_LEVEL: z.enum(logLevels).default('info'),
  KUBEVEND_TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Take the client address from X-Forwarded-For'),
});

export type Config = {
  policyFile: string;
  host: string;
  port: number;
  logLevel: (typeof logLevels)[number];
  trustProxy: boolean;
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    policyFile: e.KUBEVEND_POLICY_FILE,
    host: e.KUBEVEND_HOST,
    port: e.KUBEVEND_PORT,
    logLevel: e.KUBEVEND_LOG_LEVEL,
    trustProxy: e.KUBEVEND_TRUST_PROXY,
  };
}
