import { z } from 'zod';
import { kubeNameSchema, tokenKinds } from './schema.ts';

/** What a caller may ask for; every field narrows the pipeline's grants. Shared by credentials and explain. */
export const credentialAskShape = {
  cluster: z.string().min(1).max(63).optional().describe('Cluster to get a credential for; the grant\'s default when absent'),
  namespace: kubeNameSchema.max(63).optional().describe('Namespace of the grant to use'),
  serviceAccount: kubeNameSchema.optional().describe('ServiceAccount of the grant to use'),
  ttlSeconds: z.number().int().positive().max(366 * 86400).optional()
    .describe('Wanted lifetime; clamped to at least 600 s and at most the grant\'s maximum'),
  audiences: z.array(z.string().min(1).max(256)).min(1).max(16).optional()
    .describe('Audiences of the issued token, within those the grant allows'),
  kind: z.enum(tokenKinds).optional()
    .describe('`short-lived` (default): a TokenRequest token; `durable`: a Secret-based token, where the grant allows it'),
};

export type CredentialAsk = z.output<z.ZodObject<typeof credentialAskShape>>;
