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
};

export const credentialEnvelopeSchema = z
  .object({
    ...issuedSchema,
    pipeline: z.string().describe('The policy pipeline that granted it'),
    kubeconfig: z.string().describe('A kubeconfig with one context per cluster, named after the cluster'),
    issuances: z.array(z.object(issuedSchema)).describe('Every cluster\'s issuance; the first is also described at the top level'),
  })
  .meta({ id: 'CredentialEnvelope' });

/** The 201 of every route that hands out a credential. */
export const credentialResponse = {
  description: 'The credential',
  content: {
    'application/json': { schema: credentialEnvelopeSchema },
    'application/yaml': { schema: z.string().describe('The bare kubeconfig') },
    'text/plain': { schema: z.string().describe('format env: NAME=value lines') },
  },
};
