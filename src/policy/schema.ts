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

/** A name glob for rendered names: name characters and `*` (any run of them). */
const globSchema = z.string().min(1).max(253).regex(/^[a-z0-9.*-]+$/, 'must be lowercase name characters and "*"');

/** Namespaces no grant may reach, templated or not, unless the policy lists its own set. */
export const defaultProtectedNamespaces = ['kube-system', 'kube-public', 'kube-node-lease', 'default'];

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

/** Calls a replica has at one cluster's API server at once, unless its policy entry says otherwise. */
export const DEFAULT_MAX_CONCURRENT_CALLS = 32;

export const clusterSchema = z.strictObject({
  name: label.describe('How grants and requests refer to this cluster'),
  inCluster: z.literal(true).optional().describe('Use the ServiceAccount kubevend runs as, in the cluster it runs in'),
  kubeconfig: z.string().min(1).optional().describe('Kubeconfig file with the credentials kubevend itself uses'),
  context: z.string().min(1).optional().describe('Context in that file; its current context when absent'),
  server: z.url().optional().describe('API server URL written into vended kubeconfigs, when it differs from the one kubevend uses'),
  maxConcurrentCalls: z.number().int().min(1).max(1000).default(DEFAULT_MAX_CONCURRENT_CALLS)
    .describe('Calls kubevend (each replica) has at this API server at once; more wait their turn, in order, within their 15 s deadline'),
}).refine((c) => (c.inCluster === true) !== (c.kubeconfig !== undefined), { message: 'set exactly one of inCluster, kubeconfig' });

const lifetimeSchema = (defaults: { default: number; max: number }) => z
  .strictObject({
    default: durationSchema.default(defaults.default).describe('Lifetime when the request names none'),
    max: durationSchema.default(defaults.max).describe('Longest lifetime a request may get'),
  })
  .refine((t) => t.default <= t.max, { message: 'default must not exceed max', path: ['default'] })
  .refine((t) => t.max >= MIN_TOKEN_TTL_SECONDS, { message: `max must be at least ${MIN_TOKEN_TTL_SECONDS}s`, path: ['max'] })
  .default(defaults);

export const tokenKinds = ['short-lived', 'durable'] as const;

export const ruleSchema = z.strictObject({
  apiGroups: z.array(z.string()).default(['']).describe('"" is the core group'),
  resources: z.array(z.string().min(1)).optional(),
  verbs: z.array(z.string().min(1)).min(1),
  resourceNames: z.array(z.string().min(1)).optional(),
  nonResourceURLs: z.array(z.string().min(1)).optional().describe('Only with scope cluster'),
}).refine((r) => (r.resources?.length ?? 0) > 0 !== (r.nonResourceURLs?.length ?? 0) > 0, {
  message: 'set exactly one of resources, nonResourceURLs',
});
export type RuleSpec = z.output<typeof ruleSchema>;

export const grantSchema = z.strictObject({
  cluster: oneOrMany(label).describe('Cluster, or clusters, the grant covers; the first is the default'),
  namespace: oneOrMany(nameOrTemplateSchema('label'))
    .describe('Namespace, or namespaces, where the credential lives (may be templated, e.g. ci-{{repository_name}}); the first is the default'),
  serviceAccount: nameOrTemplateSchema('subdomain').optional()
    .describe('Mode "existing": the ServiceAccount whose token is issued; may be templated'),
  bind: z.strictObject({
    role: kubeNameSchema.optional().describe('A Role in the grant\'s namespace'),
    clusterRole: kubeNameSchema.optional(),
  }).refine((b) => (b.role === undefined) !== (b.clusterRole === undefined), { message: 'set exactly one of role, clusterRole' })
    .optional().describe('Mode "bind": a generated ServiceAccount bound to this existing Role or ClusterRole'),
  rules: z.array(ruleSchema).min(1).optional()
    .describe('Mode "rules": a generated Role (or ClusterRole) with these rules, a ServiceAccount and a binding'),
  scope: z.enum(['namespace', 'cluster']).default('namespace')
    .describe('Generated modes: bind in the namespace (RoleBinding) or cluster-wide (ClusterRoleBinding, ClusterRole)'),
  kinds: z.array(z.enum(tokenKinds)).min(1).default(['short-lived'])
    .describe('Token kinds a request may ask for; `durable` (a Secret-based token) only where named'),
  ttl: lifetimeSchema({ default: 900, max: 3600 }).describe('Lifetime of short-lived tokens'),
  durable: lifetimeSchema({ default: 86_400, max: 7 * 86_400 })
    .describe('Lifetime of durable tokens: Kubernetes never expires them, kubevend revokes them at the end'),
  audiences: z.array(z.string().min(1)).optional().describe('Audiences of the issued token; the API server\'s default when absent'),
  allowedNames: z.strictObject({
    namespace: z.array(globSchema).min(1).optional().describe('Globs a rendered namespace must match, e.g. ci-*'),
    serviceAccount: z.array(globSchema).min(1).optional().describe('Globs a rendered ServiceAccount name must match'),
  }).optional().describe('For templated names: what they may render to. A name outside these refuses the grant'),
}).superRefine((g, ctx) => {
  const modes = (['serviceAccount', 'bind', 'rules'] as const).filter((m) => g[m] !== undefined);
  if (modes.length !== 1) {
    ctx.addIssue({ code: 'custom', path: [], message: `set exactly one mode: serviceAccount, bind or rules (found ${modes.join(', ') || 'none'})` });
  }
  if (g.scope === 'cluster' && (g.serviceAccount !== undefined || g.bind?.role !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['scope'], message: 'scope cluster needs bind.clusterRole or rules' });
  }
  if (g.scope === 'namespace' && g.rules?.some((r) => r.nonResourceURLs)) {
    ctx.addIssue({ code: 'custom', path: ['rules'], message: 'nonResourceURLs need scope cluster' });
  }
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
  rateLimit: z.strictObject({
    requests: z.number().int().min(1).describe('Credentials (granted or not) a pipeline may ask for per window'),
    per: durationSchema.describe('The window'),
  }).default({ requests: 60, per: 60 }).describe('Per pipeline, shared by the replicas of a PostgreSQL store; beyond it a request answers 429 with Retry-After. Refusals of the pipeline\'s own jobs have a budget of the same size'),
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
    protectedNamespaces: z.array(label).default(defaultProtectedNamespaces)
      .describe('Namespaces no grant may render to or name; kubevend\'s own namespace is always added. Replaces the default list when set'),
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
