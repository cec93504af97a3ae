import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { issuerSchema } from './issuer-schema.ts';
import { claimMatchersSchema } from './match.ts';
import { nameOrTemplateSchema } from './template.ts';

// The policy file's schema: the single source of its validation and of docs/policy-reference.md.

/** The shortest token the TokenRequest API issues. */
export const MIN_TOKEN_TTL_SECONDS = 600;

const label = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label').max(63);

/** A Kubernetes object name (RFC 1123 subdomain). */
export const kubeNameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase RFC 1123 name');

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const clusterSchema = z.strictObject({
  name: label.describe('How grants and requests refer to this cluster'),
  inCluster: z.literal(true).optional().describe('Use the ServiceAccount kubevend runs as, in the cluster it runs in'),
  kubeconfig: z.string().min(1).optional().describe('Kubeconfig file with the credentials kubevend itself uses'),
  context: z.string().min(1).optional().describe('Context in that file; its current context when absent'),
  server: z.url().optional().describe('API server URL written into vended kubeconfigs, when it differs from the one kubevend uses'),
}).refine((c) => (c.inCluster === true) !== (c.kubeconfig !== undefined), { message: 'set exactly one of inCluster, kubeconfig' });

const ttlSchema = z
  .strictObject({
    default: durationSchema.default(900).describe('Lifetime when the request names none'),
    max: durationSchema.default(3600).describe('Longest lifetime a request may get'),
  })
  .refine((t) => t.default <= t.max, { message: 'default must not exceed max', path: ['default'] })
  .refine((t) => t.max >= MIN_TOKEN_TTL_SECONDS, { message: `max must be at least ${MIN_TOKEN_TTL_SECONDS}s`, path: ['max'] });

export const grantSchema = z.strictObject({
  cluster: oneOrMany(label).describe('Cluster, or clusters, the grant covers; the first is the default'),
  namespace: oneOrMany(nameOrTemplateSchema('label')).describe('Namespace, or namespaces; may be templated from claims, e.g. ci-{{repository_name}}'),
  serviceAccount: nameOrTemplateSchema('subdomain').describe('Existing ServiceAccount whose token is issued; may be templated'),
  ttl: ttlSchema.default({ default: 900, max: 3600 }),
  audiences: z.array(z.string().min(1)).optional().describe('Audiences of the issued token; the API server\'s default when absent'),
});

export const pipelineSchema = z.strictObject({
  name: label,
  issuer: label.describe('Name of an entry under `issuers`'),
  match: claimMatchersSchema
    .refine((m) => Object.keys(m).length > 0, 'must name at least one claim')
    .describe('Claims that identify the pipeline; all must hold'),
  conditions: claimMatchersSchema.default({})
    .describe('Further claims that must hold, such as a protected ref or an environment; reported apart in explain'),
  grants: z.array(grantSchema).min(1).describe('What the pipeline may get; the first that fits a request is used'),
});

export const operatorSchema = z.strictObject({
  name: label,
  issuer: label.describe('Name of an entry under `issuers`'),
  match: claimMatchersSchema.refine((m) => Object.keys(m).length > 0, 'must name at least one claim'),
  role: z.enum(['auditor', 'admin']).describe('auditor: read the ledger and explain; admin: also revoke'),
});

export const policySchema = z
  .strictObject({
    issuers: z.array(issuerSchema).min(1),
    clusters: z.array(clusterSchema).min(1),
    pipelines: z.array(pipelineSchema).default([]),
    operators: z.array(operatorSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    for (const field of ['issuers', 'clusters', 'pipelines', 'operators'] as const) unique(policy[field], field, ctx);
    const issuers = new Set(policy.issuers.map((i) => i.name));
    const clusters = new Set(policy.clusters.map((c) => c.name));
    for (const field of ['pipelines', 'operators'] as const) {
      policy[field].forEach((entry, i) => {
        if (!issuers.has(entry.issuer)) ctx.addIssue({ code: 'custom', path: [field, i, 'issuer'], message: `no issuer named "${entry.issuer}"` });
      });
    }
    policy.pipelines.forEach((p, i) => p.grants.forEach((g, j) => g.cluster.forEach((c, k) => {
      if (!clusters.has(c)) ctx.addIssue({ code: 'custom', path: ['pipelines', i, 'grants', j, 'cluster', k], message: `no cluster named "${c}"` });
    })));
  });

function unique(items: { name: string }[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
}

export type Policy = z.output<typeof policySchema>;
export type { IssuerPolicy } from './issuer-schema.ts';
export type ClusterPolicy = Policy['clusters'][number];
export type PipelinePolicy = Policy['pipelines'][number];
export type GrantPolicy = PipelinePolicy['grants'][number];
export type OperatorPolicy = Policy['operators'][number];
