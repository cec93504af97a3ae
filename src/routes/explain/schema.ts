import { z } from 'zod';
import { credentialAskShape } from '../../policy/ask.ts';
import { pipelineStages, policyDecisionSchema } from '../../policy/decide.ts';

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
    grant: policyDecisionSchema.optional().describe('What the request would get'),
    denial: z.object({ code: z.string(), detail: z.string() }).optional().describe('Why the request would be refused'),
    pipelines: z.array(z.object({
      pipeline: z.string(),
      stage: z.enum(pipelineStages)
        .describe('Where the pipeline stopped: another issuer, a claim, a condition, no fitting grant, suspended; or granted'),
      issuer: z.string().optional().describe('The issuer the pipeline wants, when it is another'),
      mismatches: z.array(mismatchSchema),
      grants: z.array(z.object({ index: z.number().int(), fits: z.boolean(), reason: z.string().optional() })),
    })).describe('Operators: every pipeline, in the order they are tried. Others: those whose issuer and claims the identity fits'),
  })
  .meta({ id: 'Explanation' });
