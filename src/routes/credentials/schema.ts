import { z } from 'zod';
import { credentialAskShape } from '../../policy/ask.ts';
import { tokenKinds } from '../../policy/schema.ts';
import { credentialFormats } from '../../services/credential-formats.ts';

export const credentialRequestSchema = z
  .strictObject({
    ...credentialAskShape,
    clusters: z.array(z.string().min(1).max(63)).min(1).max(16)
      .refine((c) => new Set(c).size === c.length, 'clusters must not repeat').optional()
      .describe('Several clusters at once: one kubeconfig with a context each, all or nothing. Not with `cluster`'),
    format: z.enum(credentialFormats).default('json')
      .describe('`json` (envelope), `kubeconfig` (bare YAML, as with `Accept: application/yaml`), `exec-credential` (for kubectl exec plugins; one cluster), `env` (NAME=value lines)'),
  })
  .refine((r) => !(r.cluster && r.clusters), { message: 'name either cluster or clusters', path: ['clusters'] })
  .refine((r) => !(r.format === 'exec-credential' && (r.clusters?.length ?? 1) > 1), {
    message: 'an ExecCredential holds one cluster\'s token', path: ['format'],
  })
  .meta({ id: 'CredentialRequest' });

const issuedSchema = {
  issuanceId: z.string().describe('Identifies the issuance in the ledger and for revocation'),
  cluster: z.string(),
  namespace: z.string(),
  serviceAccount: z.string(),
  kind: z.enum(tokenKinds),
  expiresAt: z.iso.datetime().describe('When the token expires: as the API server granted it, or as kubevend enforces it for durable tokens'),
  warnings: z.array(z.string()).describe('Warnings the API server sent, such as a shortened lifetime'),
  audit: z.object({
    recordId: z.number().int().describe('The ledger record of this issuance'),
    recordHash: z.string().describe('Its chain hash, as its receipt shows it'),
    receipt: z.string().describe('Where its receipt is (every format also names it in the `kubevend-audit-records` header)'),
  }).describe('The issuance\'s ledger record, for a receipt (docs/audit-proofs.md)'),
};

export const credentialEnvelopeSchema = z
  .object({
    ...issuedSchema,
    pipeline: z.string().describe('The policy pipeline that granted it'),
    kubeconfig: z.string().describe('A kubeconfig with one context per cluster, named after the cluster'),
    issuances: z.array(z.object(issuedSchema)).describe('Every cluster\'s issuance; the first is also described at the top level'),
  })
  .meta({ id: 'CredentialEnvelope' });

/** What `format: exec-credential` answers: the output of a kubectl exec credential plugin. */
export const execCredentialSchema = z
  .object({
    apiVersion: z.literal('client.authentication.k8s.io/v1'),
    kind: z.literal('ExecCredential'),
    status: z.object({
      token: z.string().describe('The Kubernetes bearer token'),
      expirationTimestamp: z.iso.datetime().describe('When the token expires; kubectl runs the plugin again after it'),
    }),
  })
  .meta({ id: 'ExecCredential' });

/**
 * The 201 of every route that hands out a credential. The body's `format` picks the answer, so
 * JSON is the envelope or an ExecCredential: their `kind` tells them apart.
 */
export const credentialResponse = {
  description: 'The credential, in the `format` asked: `json` the envelope, `exec-credential` an ExecCredential (both JSON, told apart by `kind`), `kubeconfig` (or `Accept: application/yaml`) the bare kubeconfig, `env` NAME=value lines',
  content: {
    'application/json': { schema: z.union([credentialEnvelopeSchema, execCredentialSchema]) },
    'application/yaml': { schema: z.string().describe('format kubeconfig: the bare kubeconfig') },
    'text/plain': { schema: z.string().regex(/^([A-Z][A-Z0-9_]*=[^\n]*\n)+$/).describe('format env: NAME=value lines') },
  },
};
