import { z } from 'zod';
import { kubeNameSchema } from '../../policy/schema.ts';

export const credentialFormats = ['json', 'kubeconfig'] as const;

/** What a caller may ask for; shared by credentials and explain. */
export const credentialAskShape = {
  cluster: z.string().min(1).max(63).optional().describe('Cluster to get a credential for; the grant\'s default when absent'),
  namespace: kubeNameSchema.max(63).optional().describe('Namespace of the grant to use'),
  serviceAccount: kubeNameSchema.optional().describe('ServiceAccount of the grant to use'),
  ttlSeconds: z.number().int().positive().max(366 * 86400).optional()
    .describe('Wanted lifetime; clamped to at least 600 s and at most the grant\'s maximum'),
  audiences: z.array(z.string().min(1).max(256)).min(1).max(16).optional()
    .describe('Audiences of the issued token, within those the grant allows'),
};

export const credentialRequestSchema = z
  .strictObject({
    ...credentialAskShape,
    format: z.enum(credentialFormats).default('json')
      .describe('`kubeconfig` answers with the bare kubeconfig YAML, as does `Accept: application/yaml`'),
  })
  .meta({ id: 'CredentialRequest' });

export const credentialEnvelopeSchema = z
  .object({
    issuanceId: z.string().describe('Identifies this issuance in the ledger and for revocation'),
    pipeline: z.string().describe('The policy pipeline that granted it'),
    cluster: z.string(),
    namespace: z.string(),
    serviceAccount: z.string(),
    expiresAt: z.iso.datetime().describe('When the token expires, as granted by the API server'),
    warnings: z.array(z.string()).describe('Warnings the API server sent, such as a shortened lifetime'),
    kubeconfig: z.string().describe('A kubeconfig with one context named after the cluster'),
  })
  .meta({ id: 'CredentialEnvelope' });
