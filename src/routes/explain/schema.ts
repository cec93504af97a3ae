import { z } from 'zod';
import { ruleSchema, tokenKinds } from '../../policy/schema.ts';
import { credentialAskShape } from '../credentials/schema.ts';

const scope = z.enum(['namespace', 'cluster']);
const accessSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('existing'), serviceAccount: z.string() }),
  z.object({ mode: z.literal('bind'), roleRef: z.object({ kind: z.enum(['Role', 'ClusterRole']), name: z.string() }), scope }),
  z.object({ mode: z.literal('rules'), rules: z.array(ruleSchema), scope }),
]).describe('How the credential gets its permissions: an existing ServiceAccount, a generated one bound to a role, or generated rules');

export const explainRequestSchema = z
  .strictObject({
    ...credentialAskShape,
    identity: z.strictObject({
      issuer: z.string().min(1).describe('Name of an issuer entry of the policy'),
      claims: z.record(z.string(), z.unknown()).describe('The claims to decide for'),
    }).optional().describe('Operators only: explain these claims instead of the caller\'s own token'),
  })
  .meta({ id: 'ExplainRequest' });

const mismatchSchema = z.object({
  claim: z.string(),
  expected: z.array(z.string()),
  actual: z.string().optional().describe('The identity\'s value; absent when the claim is missing'),
});

export const explanationSchema = z
  .object({
    decision: z.enum(['granted', 'denied']),
    identity: z.object({ issuer: z.string(), subject: z.string().optional() }),
    grant: z.object({
      pipeline: z.string(),
      grantIndex: z.number().int(),
      cluster: z.string(),
      namespace: z.string(),
      access: accessSchema,
      tokenKind: z.enum(tokenKinds),
      ttlSeconds: z.number().int(),
      audiences: z.array(z.string()).optional(),
    }).optional().describe('What the request would get'),
    denial: z.object({ code: z.string(), detail: z.string() }).optional().describe('Why the request would be refused'),
    pipelines: z.array(z.object({
      pipeline: z.string(),
      stage: z.enum(['issuer', 'match', 'conditions', 'grants', 'granted'])
        .describe('Where the pipeline stopped: another issuer, a claim, a condition, no fitting grant; or granted'),
      issuer: z.string().optional().describe('The issuer the pipeline wants, when it is another'),
      mismatches: z.array(mismatchSchema),
      grants: z.array(z.object({ index: z.number().int(), fits: z.boolean(), reason: z.string().optional() })),
    })).describe('Every pipeline, in the order they are tried'),
  })
  .meta({ id: 'Explanation' });
