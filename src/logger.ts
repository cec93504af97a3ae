import type { LoggerOptions } from 'pino';

// Anything that could carry a credential is censored wherever it appears in a log line.
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'kubeconfig',
  '*.token',
  '*.kubeconfig',
  '*.authorization',
  '*.privateKey',
  '*.secret',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
}
