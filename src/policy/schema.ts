import { z } from 'zod';
import { durationSchema } from './duration.ts';

// The policy file's schema: the single source of its validation and of its reference documentation.

/** The shortest token the TokenRequest API issues. */
export const MIN_TOKEN_TTL_SECONDS = 600;

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label')
  .max(63);

/** A Kubernetes object name (RFC 1123 subdomain). */
export const kubeNameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase RFC 1123 name');

const asymmetricAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const issuerSchema = z.strictObject({
  name: name.describe('How pipelines refer to this issuer'),
  issuer: z.string().min(1).describe('The exact `iss` claim of its tokens'),
  audiences: z.array(z.string().min(1)).min(1).describe('Tokens must carry at least one of these in `aud`'),
  publicKeyFile: z.string().min(1).describe('PEM file (SPKI) with the public key that signs its tokens'),
  algorithms: z.array(z.enum(asymmetricAlgorithms)).min(1).default(['RS256', 'ES256']).describe('Accepted JWS algorithms'),
  leewaySeconds: z.number().int().min(0).max(60).default(30).describe('Clock skew allowed for exp, nbf and iat'),
});

const clusterSchema = z.strictObject({
  name: name.describe('How grants and requests refer to this cluster'),
  kubeconfig: z.string().min(1).describe('Kubeconfig file with the credentials kubevend itself uses'),
  context: z.string().min(1).optional().describe('Context in that file; its current context when absent'),
  server: z.url().optional().describe('API server URL written into vended kubeconfigs, when it differs from the one kubevend uses'),
});

const claimValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const ttlSchema = z
  .strictObject({
    default: durationSchema.default(900),
    max: durationSchema.default(3600),
  })
  .refine((t) => t.default <= t.max, { message: 'default must not exceed max', path: ['default'] })
  .refine((t) => t.max >= MIN_TOKEN_TTL_SECONDS, { message: `max must be at least ${MIN_TOKEN_TTL_SECONDS}s`, path: ['max'] });

const grantSchema = z.strictObject({
  cluster: name,
  namespace: name,
  serviceAccount: kubeNameSchema.describe('Existing ServiceAccount whose token is issued'),
  ttl: ttlSchema.default({ default: 900, max: 3600 }),
  audiences: z.array(z.string().min(1)).optional().describe('Audiences of the issued token; the API server default when absent'),
});

const pipelineSchema = z.strictObject({
  name: name,
  issuer: name.describe('Name of an entry under `issuers`'),
  match: z
    .record(z.string().min(1), claimValue)
    .refine((m) => Object.keys(m).length > 0, 'must name at least one claim')
    .describe('Claims the identity token must carry, compared exactly'),
  grants: z.array(grantSchema).min(1).describe('What the pipeline may get; the first grant is its default'),
});

export const policySchema = z
  .strictObject({
    issuers: z.array(issuerSchema).min(1),
    clusters: z.array(clusterSchema).min(1),
    pipelines: z.array(pipelineSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    unique(policy.issuers, 'issuers', ctx);
    unique(policy.clusters, 'clusters', ctx);
    unique(policy.pipelines, 'pipelines', ctx);
    const issuers = new Set(policy.issuers.map((i) => i.name));
    const clusters = new Set(policy.clusters.map((c) => c.name));
    policy.pipelines.forEach((p, i) => {
      if (!issuers.has(p.issuer)) {
        ctx.addIssue({ code: 'custom', path: ['pipelines', i, 'issuer'], message: `no issuer named "${p.issuer}"` });
      }
      p.grants.forEach((g, j) => {
        if (!clusters.has(g.cluster)) {
          ctx.addIssue({ code: 'custom', path: ['pipelines', i, 'grants', j, 'cluster'], message: `no cluster named "${g.cluster}"` });
        }
      });
    });
  });

function unique(items: { name: string }[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
}

export type Policy = z.output<typeof policySchema>;
export type IssuerPolicy = Policy['issuers'][number];
export type ClusterPolicy = Policy['clusters'][number];
export type PipelinePolicy = Policy['pipelines'][number];
export type GrantPolicy = PipelinePolicy['grants'][number];
