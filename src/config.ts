import { z } from 'zod';
import { durationSchema } from './policy/duration.ts';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const sinkModes = ['best-effort', 'fail-closed'] as const;

/** Where audit records also go (src/sinks), as configured. */
export interface AuditSinkConfig {
  stdout?: (typeof sinkModes)[number];
  file?: { path: string; mode: (typeof sinkModes)[number]; maxBytes: number; keep: number };
  http?: { url: string; mode: (typeof sinkModes)[number]; tokenFile?: string };
  buffer: number;
}

// Everything kubevend reads from its environment, validated once at start.
const configSchema = z.object({
  KUBEVEND_POLICY_FILE: z.string().min(1).describe('Path of the policy file (YAML)'),
  KUBEVEND_HOST: z.string().min(1).default('127.0.0.1').describe('Address to listen on'),
  KUBEVEND_PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('Port to listen on'),
  KUBEVEND_LOG_LEVEL: z.enum(logLevels).default('info'),
  KUBEVEND_TRUST_PROXY: z.string().default('false')
    .transform((v, ctx) => {
      if (v === 'true' || v === 'false') return v === 'true';
      if (/^\d+$/.test(v)) return Number(v);
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length && list.every((a) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(a))) return list;
      ctx.addIssue({ code: 'custom', message: 'must be false, true, a number of proxy hops, or a comma-separated list of proxy addresses or CIDRs' });
      return z.NEVER;
    })
    .describe('Take the client address from X-Forwarded-For: false; a number of trusted proxy hops; the proxies\' addresses or CIDRs (comma-separated); or true (any, which lets a client name its own address)'),
  KUBEVEND_DATABASE_URL: z.string().min(1).default('sqlite://kubevend.db')
    .describe('sqlite:///path/file.db (embedded, one replica) or postgres://… (several replicas)'),
  KUBEVEND_FINGERPRINT_KEY_FILE: z.string().min(1).optional()
    .describe('Key (32+ bytes) for the HMAC fingerprints of issued tokens; beside a SQLite file it is made on first start'),
  KUBEVEND_REAPER_INTERVAL: z.union([z.literal('0').transform(() => 0), durationSchema]).default(60)
    .describe('How often expired and orphaned objects are removed; 0 turns the reaper off'),
  KUBEVEND_AUDIT_RETENTION: z.union([z.literal('0').transform(() => 0), durationSchema]).default(0)
    .describe('Audit records older than this are pruned (the hash chain stays verifiable); 0 keeps them all'),
  KUBEVEND_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional()
    .describe('Ed25519 private key (PKCS#8 PEM, e.g. a mounted Secret) that signs audit checkpoints; kept out of the database. Unset: no checkpoints'),
  KUBEVEND_AUDIT_PUBLIC_KEYS_FILE: z.string().min(1).optional()
    .describe('PEM public keys of earlier signing keys, so that checkpoints they signed still verify after a rotation'),
  KUBEVEND_AUDIT_SIGNER_STATE_FILE: z.string().min(1).optional()
    .describe('A writable file, out of the database\'s reach, where the signer keeps the last size and head it signed, so that after a restart it still refuses to sign a rewritten ledger. Unset: kept in memory only'),
  KUBEVEND_AUDIT_CHECKPOINT_RECORDS: z.coerce.number().int().min(1).default(1000)
    .describe('A checkpoint is signed once this many records were appended since the last'),
  KUBEVEND_AUDIT_CHECKPOINT_INTERVAL: durationSchema.default(10)
    .describe('... and at least this often while the ledger grows, and on shutdown'),
  KUBEVEND_AUDIT_SINK_STDOUT: z.enum(['off', ...sinkModes]).default('off')
    .describe('Every audit record also as one JSON line on standard output: off, best-effort or fail-closed'),
  KUBEVEND_AUDIT_SINK_FILE: z.string().min(1).optional().describe('Every audit record also as one JSON line appended to this file, rotated by size'),
  KUBEVEND_AUDIT_SINK_FILE_MODE: z.enum(sinkModes).default('best-effort').describe('fail-closed: no credential unless its record is written to the file'),
  KUBEVEND_AUDIT_SINK_FILE_MAX_BYTES: z.coerce.number().int().min(1024).default(100 * 1024 * 1024).describe('The file is rotated (.1, .2, ...) when it would pass this size'),
  KUBEVEND_AUDIT_SINK_FILE_KEEP: z.coerce.number().int().min(0).max(100).default(5).describe('Rotated files kept'),
  KUBEVEND_AUDIT_SINK_URL: z.url({ protocol: /^https?$/ })
    // A password in the URL would travel in every error and log line that names the URL.
    .refine((url) => !new URL(url).username && !new URL(url).password, 'must not carry a user or password: put the endpoint\'s token in KUBEVEND_AUDIT_SINK_TOKEN_FILE')
    .optional().describe('Every audit record also POSTed, in NDJSON batches, to this endpoint (retried while it is down); no user or password in it'),
  KUBEVEND_AUDIT_SINK_URL_MODE: z.enum(sinkModes).default('best-effort').describe('fail-closed: no credential unless the endpoint took its record'),
  KUBEVEND_AUDIT_SINK_TOKEN_FILE: z.string().min(1).optional().describe('Bearer token for the endpoint, read from this file; never logged'),
  KUBEVEND_AUDIT_SINK_BUFFER: z.coerce.number().int().min(1).default(10_000).describe('Records a sink holds while it is slow or down; past it, records are dropped and counted (kubevend_audit_sink_dropped_records_total)'),
  KUBEVEND_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(64)
    .describe('Issuances run at once per replica; more wait in a queue per pipeline, served in turn'),
  KUBEVEND_QUEUE_LENGTH: z.coerce.number().int().min(1).default(1000)
    .describe('Requests one pipeline may have waiting per replica; past it, 503 overloaded with Retry-After'),
  KUBEVEND_QUEUE_WAIT: durationSchema.default(30)
    .describe('Longest a request waits for a slot; a request whose wait would pass it is refused at once with 503 overloaded'),
  KUBEVEND_DURABLE_TOKEN_TIMEOUT: durationSchema.default(30)
    .describe('How long to wait for the token controller to fill a durable token'),
  KUBEVEND_INSTANCE: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label value: 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit')
    .default('kubevend')
    .describe('The installation: its label is on every object it creates, and its reaper sweeps only those. Installations that share a cluster need names of their own'),
  KUBEVEND_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name').max(63).optional()
    .describe('kubevend\'s own namespace, which no grant may reach; in a pod, read from its ServiceAccount when unset'),
  KUBEVEND_COMMIT: z.string().regex(/^[0-9a-f]{7,40}$/, 'must be a git commit id').optional()
    .describe('The source commit this build came from (set by the image build), shown in kubevend_build_info'),
  KUBEVEND_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(60)
    .describe('Failed authentications a client address may have per minute (and in a burst) before it is refused without any signature check; 0 turns the limit off'),
});

export type Config = {
  policyFile: string;
  host: string;
  port: number;
  logLevel: (typeof logLevels)[number];
  trustProxy: boolean | number | string[];
  databaseUrl: string;
  fingerprintKeyFile?: string;
  reaperIntervalSeconds: number;
  auditRetentionSeconds: number;
  auditSignerStateFile?: string;
  auditSigningKeyFile?: string;
  auditPublicKeysFile?: string;
  checkpointRecords: number;
  checkpointIntervalSeconds: number;
  auditSinks: AuditSinkConfig;
  maxInFlight: number;
  queueLength: number;
  queueWaitSeconds: number;
  durableTokenTimeoutSeconds: number;
  instance: string;
  namespace?: string;
  authFailuresPerMinute: number;
  commit?: string;
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // Name the variable, never echo its value: it may be a URL with a password.
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
    databaseUrl: e.KUBEVEND_DATABASE_URL,
    ...(e.KUBEVEND_FINGERPRINT_KEY_FILE ? { fingerprintKeyFile: e.KUBEVEND_FINGERPRINT_KEY_FILE } : {}),
    reaperIntervalSeconds: e.KUBEVEND_REAPER_INTERVAL,
    auditRetentionSeconds: e.KUBEVEND_AUDIT_RETENTION,
    ...(e.KUBEVEND_AUDIT_SIGNING_KEY_FILE ? { auditSigningKeyFile: e.KUBEVEND_AUDIT_SIGNING_KEY_FILE } : {}),
    ...(e.KUBEVEND_AUDIT_PUBLIC_KEYS_FILE ? { auditPublicKeysFile: e.KUBEVEND_AUDIT_PUBLIC_KEYS_FILE } : {}),
    ...(e.KUBEVEND_AUDIT_SIGNER_STATE_FILE ? { auditSignerStateFile: e.KUBEVEND_AUDIT_SIGNER_STATE_FILE } : {}),
    checkpointRecords: e.KUBEVEND_AUDIT_CHECKPOINT_RECORDS,
    checkpointIntervalSeconds: e.KUBEVEND_AUDIT_CHECKPOINT_INTERVAL,
    auditSinks: {
      ...(e.KUBEVEND_AUDIT_SINK_STDOUT !== 'off' ? { stdout: e.KUBEVEND_AUDIT_SINK_STDOUT } : {}),
      ...(e.KUBEVEND_AUDIT_SINK_FILE ? {
        file: { path: e.KUBEVEND_AUDIT_SINK_FILE, mode: e.KUBEVEND_AUDIT_SINK_FILE_MODE, maxBytes: e.KUBEVEND_AUDIT_SINK_FILE_MAX_BYTES, keep: e.KUBEVEND_AUDIT_SINK_FILE_KEEP },
      } : {}),
      ...(e.KUBEVEND_AUDIT_SINK_URL ? {
        http: { url: e.KUBEVEND_AUDIT_SINK_URL, mode: e.KUBEVEND_AUDIT_SINK_URL_MODE, ...(e.KUBEVEND_AUDIT_SINK_TOKEN_FILE ? { tokenFile: e.KUBEVEND_AUDIT_SINK_TOKEN_FILE } : {}) },
      } : {}),
      buffer: e.KUBEVEND_AUDIT_SINK_BUFFER,
    },
    maxInFlight: e.KUBEVEND_MAX_IN_FLIGHT,
    queueLength: e.KUBEVEND_QUEUE_LENGTH,
    queueWaitSeconds: e.KUBEVEND_QUEUE_WAIT,
    durableTokenTimeoutSeconds: e.KUBEVEND_DURABLE_TOKEN_TIMEOUT,
    instance: e.KUBEVEND_INSTANCE,
    ...(e.KUBEVEND_NAMESPACE ? { namespace: e.KUBEVEND_NAMESPACE } : {}),
    authFailuresPerMinute: e.KUBEVEND_AUTH_FAILURES_PER_MINUTE,
    ...(e.KUBEVEND_COMMIT ? { commit: e.KUBEVEND_COMMIT } : {}),
  };
}
