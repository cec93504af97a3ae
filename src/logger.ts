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

/**
 * The text with anything shaped like a JWT, or like a bearer or basic credential, cut out: for text
 * kubevend logs but did not write itself (an error's message, a request's URL), which the paths
 * above cannot reach.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/\beyJ[\w-]*(?:\.[\w-]*){0,2}/g, '[redacted]').replace(/\b(Bearer|Basic)\s+\S+/gi, '$1 [redacted]');
}
