import { z } from 'zod';
import { Problem, type ProblemCode } from '../errors.ts';
import type { CredentialAsk } from './ask.ts';
import type { LoadedPolicy } from './load.ts';
import { allowedByGlobs } from './name-guards.ts';
import { claimMismatches, claimsHold, type ClaimMismatch } from './match.ts';
import { candidatePositions, pipelineIndexOf } from './pipeline-index.ts';
import { MIN_TOKEN_TTL_SECONDS, ruleSchema, tokenKinds, type GrantPolicy, type PipelinePolicy } from './schema.ts';
import { renderName, templateClaims } from './template.ts';

// The one place that says what the policy means for a request: which grant an identity gets (or
// why none), for issuing and for explain alike, on one view of the claims. Holder and operator
// questions (holder.ts) ask the same pipeline test.

/** Who asks: the issuer entry that vouched for the token, and the token's verified claims. */
export interface Identity {
  issuer: string;
  subject?: string;
  claims: Record<string, unknown>;
}

/**
 * The claims every judgement sees: the token's own and the derived ones templates use
 * (`repository_name`). Matching, templating and holder checks all read this view, never the raw
 * claims, so that what issues is what may later be listed and revoked.
 */
export function claimsView(identity: Identity): Record<string, unknown> {
  return templateClaims(identity.claims);
}

const scopeSchema = z.enum(['namespace', 'cluster']);

export const accessSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('existing'), serviceAccount: z.string() }),
  z.object({ mode: z.literal('bind'), roleRef: z.object({ kind: z.enum(['Role', 'ClusterRole']), name: z.string() }), scope: scopeSchema }),
  z.object({ mode: z.literal('rules'), rules: z.array(ruleSchema), scope: scopeSchema }),
]).describe('How the credential gets its permissions: an existing ServiceAccount, a generated one bound to a role, or generated rules');

/** How the credential gets its permissions. */
export type Access = z.output<typeof accessSchema>;
export type Scope = z.output<typeof scopeSchema>;
export type TokenKind = (typeof tokenKinds)[number];

export const policyDecisionSchema = z.object({
  pipeline: z.string(),
  grantIndex: z.number().int(),
  cluster: z.string(),
  namespace: z.string(),
  access: accessSchema,
  tokenKind: z.enum(tokenKinds),
  ttlSeconds: z.number().int(),
  audiences: z.array(z.string()).optional(),
});

/** The grant a request gets. */
export type PolicyDecision = z.output<typeof policyDecisionSchema>;

export const pipelineStages = ['issuer', 'match', 'conditions', 'grants', 'suspended', 'granted'] as const;

export interface GrantEvaluation {
  index: number;
  fits: boolean;
  reason?: string;
}

/** Why one pipeline did or did not decide: the first failing stage is where it stopped. */
export interface PipelineEvaluation {
  pipeline: string;
  stage: (typeof pipelineStages)[number];
  issuer?: string;
  mismatches: ClaimMismatch[];
  grants: GrantEvaluation[];
}

/** Suspended pipelines, as the store holds them; `cluster` undefined asks for a whole-pipeline suspension only. */
export interface SuspensionView {
  isSuspended(pipeline: string, cluster: string): boolean;
}

export interface Evaluation {
  decision?: PolicyDecision;
  denial?: Problem;
  /** The first pipeline whose issuer and claims the identity fits, granted or not: whom a refusal counts against. */
  matched?: string;
  /** With `reasons`: every pipeline, in file order, and where it stopped. */
  pipelines: PipelineEvaluation[];
}

export interface Question {
  identity: Identity;
  ask: CredentialAsk;
  suspensions?: SuspensionView;
  /** Build the report of every pipeline (explain), rather than stopping at the first that grants. */
  reasons?: boolean;
}

/**
 * Deny by default. Pipelines are tried in file order; the request gets the first grant that fits it
 * of the first pipeline whose issuer, claims and conditions all hold and that is not suspended.
 * Deciding (without `reasons`) tries only the pipelines the policy's index names for these claims,
 * still in file order: the others would stop at their issuer or `match`, where a refusal does not
 * report them, so the answer is the one `evaluateByScan` gives.
 */
export function evaluate(policy: LoadedPolicy, question: Question): Evaluation {
  if (question.reasons) return evaluateOver(policy, question, policy.pipelines);
  const claims = claimsView(question.identity);
  const positions = candidatePositions(pipelineIndexOf(policy.pipelines), question.identity.issuer, claims);
  return evaluateOver(policy, question, positions.map((i) => policy.pipelines[i]!), claims);
}

/** The same decision by trying every pipeline of the policy: what the index is tested against, and the bench's baseline. */
export function evaluateByScan(policy: LoadedPolicy, question: Question): Evaluation {
  return evaluateOver(policy, question, policy.pipelines);
}

function evaluateOver(
  policy: LoadedPolicy, { identity, ask, suspensions, reasons = false }: Question, tried: PipelinePolicy[],
  claims = claimsView(identity),
): Evaluation {
  const pipelines: PipelineEvaluation[] = [];
  if (ask.cluster !== undefined && !policy.clusters.some((c) => c.name === ask.cluster)) {
    return { pipelines, denial: new Problem('cluster_unknown', `no cluster named "${ask.cluster}" is configured`) };
  }
  let matched: string | undefined;
  let decision: PolicyDecision | undefined;
  for (const pipeline of tried) {
    const result = evaluatePipeline(policy, pipeline, identity.issuer, claims, ask, suspensions, reasons);
    if (result.stage !== 'issuer' && result.stage !== 'match') matched ??= pipeline.name;
    if (result.stage === 'granted') decision ??= decisionFor(policy, pipeline, result.grants.find((g) => g.fits)!.index, claims, ask);
    if (reasons) pipelines.push(result);
    else if (decision) break;
    else if (result.stage !== 'issuer' && result.stage !== 'match') pipelines.push(result);
  }
  if (decision) return { decision, pipelines, ...(matched ? { matched } : {}) };
  return { pipelines, denial: denialFor(identity, pipelines), ...(matched ? { matched } : {}) };
}

/** Whether the identity fits a pipeline: its issuer, claims and conditions all hold on the claims view. */
export function pipelineFits(pipeline: PipelinePolicy, identity: Identity, claims = claimsView(identity)): boolean {
  return pipeline.issuer === identity.issuer && claimsHold(pipeline.match, claims) && claimsHold(pipeline.conditions, claims);
}

function evaluatePipeline(
  policy: LoadedPolicy, p: PipelinePolicy, issuer: string, claims: Record<string, unknown>, ask: CredentialAsk,
  suspensions: SuspensionView | undefined, reasons: boolean,
): PipelineEvaluation {
  const result = (stage: PipelineEvaluation['stage'], mismatches: ClaimMismatch[] = [], grants: GrantEvaluation[] = []) =>
    ({ pipeline: p.name, stage, mismatches, grants });
  if (p.issuer !== issuer) return { ...result('issuer'), issuer: p.issuer };
  if (!reasons && !claimsHold(p.match, claims)) return result('match');
  const mismatches = reasons ? claimMismatches(p.match, claims) : [];
  if (mismatches.length) return result('match', mismatches);
  if (!claimsHold(p.conditions, claims)) return result('conditions', claimMismatches(p.conditions, claims));
  const grants: GrantEvaluation[] = [];
  for (const [index, g] of p.grants.entries()) {
    const fit = grantFit(policy, g, claims, ask);
    grants.push({ index, ...fit });
    if (fit.fits && !reasons) break;
  }
  const chosen = grants.find((g) => g.fits);
  if (!chosen) return result('grants', [], grants);
  const cluster = ask.cluster ?? p.grants[chosen.index]!.cluster[0]!;
  if (suspensions?.isSuspended(p.name, cluster)) return result('suspended', [], grants);
  return result('granted', [], grants);
}

type Rendered = { cluster: string[]; namespace: string[]; access: Access };

function renderGrant(policy: LoadedPolicy, grant: GrantPolicy, claims: Record<string, unknown>): Rendered | string {
  const namespace: string[] = [];
  for (const template of grant.namespace) {
    const r = renderName(template, claims, 'label');
    if (!r.ok) return `namespace ${r.reason}`;
    // Templated or not, no grant reaches a protected namespace (kube-system, kubevend's own, ...).
    if (policy.protectedNamespaces.includes(r.value)) return `namespace "${r.value}" is protected (protectedNamespaces)`;
    if (grant.allowedNames?.namespace && !allowedByGlobs(grant.allowedNames.namespace, r.value)) {
      return `namespace "${r.value}" is outside the grant's allowedNames.namespace (${grant.allowedNames.namespace.join(', ')})`;
    }
    namespace.push(r.value);
  }
  let access: Access;
  if (grant.serviceAccount !== undefined) {
    const sa = renderName(grant.serviceAccount, claims, 'subdomain');
    if (!sa.ok) return `serviceAccount ${sa.reason}`;
    if (grant.allowedNames?.serviceAccount && !allowedByGlobs(grant.allowedNames.serviceAccount, sa.value)) {
      return `serviceAccount "${sa.value}" is outside the grant's allowedNames.serviceAccount (${grant.allowedNames.serviceAccount.join(', ')})`;
    }
    access = { mode: 'existing', serviceAccount: sa.value };
  } else if (grant.bind) {
    const roleRef = grant.bind.role ? { kind: 'Role' as const, name: grant.bind.role } : { kind: 'ClusterRole' as const, name: grant.bind.clusterRole! };
    access = { mode: 'bind', roleRef, scope: grant.scope };
  } else {
    access = { mode: 'rules', rules: grant.rules!, scope: grant.scope };
  }
  return { cluster: grant.cluster, namespace, access };
}

function grantFit(policy: LoadedPolicy, grant: GrantPolicy, claims: Record<string, unknown>, ask: CredentialAsk): { fits: boolean; reason?: string } {
  const rendered = renderGrant(policy, grant, claims);
  if (typeof rendered === 'string') return { fits: false, reason: rendered };
  if (ask.cluster !== undefined && !rendered.cluster.includes(ask.cluster)) return { fits: false, reason: `cluster "${ask.cluster}" is not granted` };
  if (ask.namespace !== undefined && !rendered.namespace.includes(ask.namespace)) return { fits: false, reason: `namespace "${ask.namespace}" is not granted` };
  if (ask.serviceAccount !== undefined && (rendered.access.mode !== 'existing' || ask.serviceAccount !== rendered.access.serviceAccount)) {
    return { fits: false, reason: `serviceAccount "${ask.serviceAccount}" is not granted` };
  }
  if (!grant.kinds.includes(ask.kind ?? 'short-lived')) return { fits: false, reason: `${ask.kind} tokens are not granted` };
  // A caller may narrow the audiences to those the grant allows, never widen them.
  const extra = ask.audiences?.filter((a) => !grant.audiences?.includes(a));
  if (extra?.length) return { fits: false, reason: `audiences ${extra.join(', ')} are not granted` };
  return { fits: true };
}

function decisionFor(policy: LoadedPolicy, pipeline: PipelinePolicy, index: number, claims: Record<string, unknown>, ask: CredentialAsk): PolicyDecision {
  const grant = pipeline.grants[index]!;
  const rendered = renderGrant(policy, grant, claims) as Rendered;
  const audiences = ask.audiences ?? grant.audiences;
  const tokenKind = ask.kind ?? 'short-lived';
  const lifetime = tokenKind === 'durable' ? grant.durable : grant.ttl;
  return {
    pipeline: pipeline.name,
    grantIndex: index,
    cluster: ask.cluster ?? rendered.cluster[0]!,
    namespace: ask.namespace ?? rendered.namespace[0]!,
    access: rendered.access,
    tokenKind,
    ttlSeconds: Math.min(Math.max(ask.ttlSeconds ?? lifetime.default, MIN_TOKEN_TTL_SECONDS), lifetime.max),
    ...(audiences ? { audiences } : {}),
  };
}

function denialFor(identity: Identity, pipelines: PipelineEvaluation[]): Problem {
  const furthest = (stage: PipelineEvaluation['stage']) => pipelines.filter((p) => p.stage === stage);
  const deny = (code: ProblemCode, detail: string) => new Problem(code, detail);
  const suspended = furthest('suspended');
  if (suspended.length) {
    return deny('pipeline_suspended', `pipeline ${suspended.map((p) => `"${p.pipeline}"`).join(', ')} is suspended by an operator`);
  }
  const grants = furthest('grants');
  if (grants.length) {
    const reasons = grants.flatMap((p) => p.grants.map((g) => `${p.pipeline}[${g.index}]: ${g.reason}`));
    return deny('grant_not_allowed', `no grant fits the request (${reasons.join('; ')})`);
  }
  const conditions = furthest('conditions');
  if (conditions.length) {
    const failed = conditions.flatMap((p) => p.mismatches.map((m) => `${p.pipeline}: ${m.claim}`));
    return deny('conditions_not_met', `the pipeline matched but its conditions do not hold (${failed.join(', ')})`);
  }
  return deny('pipeline_not_matched', `no pipeline of issuer "${identity.issuer}" matches the token's claims`);
}
