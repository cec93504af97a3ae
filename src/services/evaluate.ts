import { Problem, type ProblemCode } from '../errors.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import { claimMismatches, claimsHold, type ClaimMismatch } from '../policy/match.ts';
import { MIN_TOKEN_TTL_SECONDS, type GrantPolicy, type PipelinePolicy, type RuleSpec } from '../policy/schema.ts';
import { renderName, templateClaims } from '../policy/template.ts';
import type { CallerIdentity } from './authenticate.ts';

/** What a caller asks for; every field narrows the pipeline's grants. */
export interface CredentialAsk {
  cluster?: string;
  namespace?: string;
  serviceAccount?: string;
  ttlSeconds?: number;
  audiences?: string[];
  kind?: TokenKind;
}

export type TokenKind = 'short-lived' | 'durable';
export type Scope = 'namespace' | 'cluster';

/** How the credential gets its permissions. */
export type Access =
  | { mode: 'existing'; serviceAccount: string }
  | { mode: 'bind'; roleRef: { kind: 'Role' | 'ClusterRole'; name: string }; scope: Scope }
  | { mode: 'rules'; rules: RuleSpec[]; scope: Scope };

/** The grant a request gets. */
export interface PolicyDecision {
  pipeline: string;
  grantIndex: number;
  cluster: string;
  namespace: string;
  access: Access;
  tokenKind: TokenKind;
  ttlSeconds: number;
  audiences?: string[];
}

export interface GrantEvaluation {
  index: number;
  fits: boolean;
  reason?: string;
}

/** Why one pipeline did or did not decide: the first failing stage is where it stopped. */
export interface PipelineEvaluation {
  pipeline: string;
  stage: 'issuer' | 'match' | 'conditions' | 'grants' | 'granted';
  issuer?: string;
  mismatches: ClaimMismatch[];
  grants: GrantEvaluation[];
}

export interface Evaluation {
  decision?: PolicyDecision;
  denial?: Problem;
  pipelines: PipelineEvaluation[];
}

/**
 * Deny by default. Pipelines are tried in file order; the request gets the first grant that fits it
 * of the first pipeline whose issuer, claims and conditions all hold. Every pipeline is evaluated,
 * so that explain can say why each one did not decide.
 */
export function evaluate(policy: LoadedPolicy, identity: CallerIdentity, ask: CredentialAsk): Evaluation {
  const claims = templateClaims(identity.claims);
  const pipelines = policy.pipelines.map((p) => evaluatePipeline(p, identity.issuer, claims, ask));
  const chosen = pipelines.find((p) => p.stage === 'granted');
  if (ask.cluster !== undefined && !policy.clusters.some((c) => c.name === ask.cluster)) {
    return { pipelines, denial: new Problem('cluster_unknown', `no cluster named "${ask.cluster}" is configured`) };
  }
  if (chosen) {
    const pipeline = policy.pipelines.find((p) => p.name === chosen.pipeline)!;
    const index = chosen.grants.find((g) => g.fits)!.index;
    return { pipelines, decision: decisionFor(pipeline, index, claims, ask) };
  }
  return { pipelines, denial: denialFor(identity, pipelines) };
}

/**
 * `evaluate`'s decision, or its denial thrown. A request that is granted stops at the pipeline and
 * grant that decide it, and builds no report of the pipelines that did not: only a denial needs one.
 */
export function decide(policy: LoadedPolicy, identity: CallerIdentity, ask: CredentialAsk): PolicyDecision {
  if (ask.cluster === undefined || policy.clusters.some((c) => c.name === ask.cluster)) {
    const claims = templateClaims(identity.claims);
    for (const pipeline of policy.pipelines) {
      if (pipeline.issuer !== identity.issuer || !claimsHold(pipeline.match, claims) || !claimsHold(pipeline.conditions, claims)) continue;
      const index = pipeline.grants.findIndex((g) => grantFit(g, claims, ask).fits);
      if (index >= 0) return decisionFor(pipeline, index, claims, ask);
    }
  }
  const { decision, denial } = evaluate(policy, identity, ask);
  if (!decision) throw denial!;
  return decision;
}

/** Whether a pipeline's issuer, claims and conditions all hold for an identity. */
export function pipelineApplies(pipeline: PipelinePolicy, identity: CallerIdentity): boolean {
  const claims = identity.claims as Record<string, unknown>;
  return pipeline.issuer === identity.issuer && claimsHold(pipeline.match, claims) && claimsHold(pipeline.conditions, claims);
}

function evaluatePipeline(p: PipelinePolicy, issuer: string, claims: Record<string, unknown>, ask: CredentialAsk): PipelineEvaluation {
  const result = (stage: PipelineEvaluation['stage'], mismatches: ClaimMismatch[] = [], grants: GrantEvaluation[] = []) =>
    ({ pipeline: p.name, stage, mismatches, grants });
  if (p.issuer !== issuer) return { ...result('issuer'), issuer: p.issuer };
  const mismatches = claimMismatches(p.match, claims);
  if (mismatches.length) return result('match', mismatches);
  const failed = claimMismatches(p.conditions, claims);
  if (failed.length) return result('conditions', failed);
  const grants = p.grants.map((g, index) => ({ index, ...grantFit(g, claims, ask) }));
  return result(grants.some((g) => g.fits) ? 'granted' : 'grants', [], grants);
}

type Rendered = { cluster: string[]; namespace: string[]; access: Access };

function renderGrant(grant: GrantPolicy, claims: Record<string, unknown>): Rendered | string {
  const namespace: string[] = [];
  for (const template of grant.namespace) {
    const r = renderName(template, claims, 'label');
    if (!r.ok) return `namespace ${r.reason}`;
    namespace.push(r.value);
  }
  let access: Access;
  if (grant.serviceAccount !== undefined) {
    const sa = renderName(grant.serviceAccount, claims, 'subdomain');
    if (!sa.ok) return `serviceAccount ${sa.reason}`;
    access = { mode: 'existing', serviceAccount: sa.value };
  } else if (grant.bind) {
    const roleRef = grant.bind.role ? { kind: 'Role' as const, name: grant.bind.role } : { kind: 'ClusterRole' as const, name: grant.bind.clusterRole! };
    access = { mode: 'bind', roleRef, scope: grant.scope };
  } else {
    access = { mode: 'rules', rules: grant.rules!, scope: grant.scope };
  }
  return { cluster: grant.cluster, namespace, access };
}

function grantFit(grant: GrantPolicy, claims: Record<string, unknown>, ask: CredentialAsk): { fits: boolean; reason?: string } {
  const rendered = renderGrant(grant, claims);
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

function decisionFor(pipeline: PipelinePolicy, index: number, claims: Record<string, unknown>, ask: CredentialAsk): PolicyDecision {
  const grant = pipeline.grants[index]!;
  const rendered = renderGrant(grant, claims) as Rendered;
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

function denialFor(identity: CallerIdentity, pipelines: PipelineEvaluation[]): Problem {
  const furthest = (stage: PipelineEvaluation['stage']) => pipelines.filter((p) => p.stage === stage);
  const deny = (code: ProblemCode, detail: string) => new Problem(code, detail);
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
