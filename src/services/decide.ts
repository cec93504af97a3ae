import type { JWTPayload } from 'jose';
import { Problem } from '../errors.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import { MIN_TOKEN_TTL_SECONDS, type GrantPolicy, type PipelinePolicy } from '../policy/schema.ts';
import type { CallerIdentity } from './authenticate.ts';

/** What a caller asks for; every field narrows the pipeline's grants. */
export interface CredentialAsk {
  cluster?: string;
  namespace?: string;
  serviceAccount?: string;
  ttlSeconds?: number;
  audiences?: string[];
}

/** The outcome of matching an identity and an ask against the policy. */
export interface PolicyDecision {
  pipeline: string;
  cluster: string;
  namespace: string;
  serviceAccount: string;
  ttlSeconds: number;
  audiences?: string[];
}

/**
 * Deny by default. Pipelines are tried in file order and the first whose issuer and claims match
 * decides; of its grants, the first that fits the ask is used.
 */
export function decide(policy: LoadedPolicy, identity: CallerIdentity, ask: CredentialAsk): PolicyDecision {
  const pipeline = policy.pipelines.find((p) => p.issuer === identity.issuer && claimsMatch(p, identity.claims));
  if (!pipeline) throw new Problem('pipeline_not_matched', `no pipeline of issuer "${identity.issuer}" matches the token's claims`);
  if (ask.cluster !== undefined && !policy.clusters.some((c) => c.name === ask.cluster)) {
    throw new Problem('cluster_unknown', `no cluster named "${ask.cluster}" is configured`);
  }
  const grant = pipeline.grants.find((g) => fits(g, ask));
  if (!grant) throw new Problem('grant_not_allowed', `pipeline "${pipeline.name}" has no grant for ${describeAsk(ask)}`);
  return {
    pipeline: pipeline.name,
    cluster: grant.cluster,
    namespace: grant.namespace,
    serviceAccount: grant.serviceAccount,
    ttlSeconds: clamp(ask.ttlSeconds ?? grant.ttl.default, MIN_TOKEN_TTL_SECONDS, grant.ttl.max),
    ...audiencesOf(grant, ask),
  };
}

function claimsMatch(pipeline: PipelinePolicy, claims: JWTPayload): boolean {
  return Object.entries(pipeline.match).every(([claim, expected]) => {
    const actual = claims[claim];
    return (typeof actual === 'string' || typeof actual === 'number' || typeof actual === 'boolean') && String(actual) === expected;
  });
}

function fits(grant: GrantPolicy, ask: CredentialAsk): boolean {
  if (ask.cluster !== undefined && ask.cluster !== grant.cluster) return false;
  if (ask.namespace !== undefined && ask.namespace !== grant.namespace) return false;
  if (ask.serviceAccount !== undefined && ask.serviceAccount !== grant.serviceAccount) return false;
  // A caller may narrow the audiences to those the grant allows, never widen them.
  if (ask.audiences !== undefined && !ask.audiences.every((a) => grant.audiences?.includes(a))) return false;
  return true;
}

function audiencesOf(grant: GrantPolicy, ask: CredentialAsk): { audiences?: string[] } {
  const audiences = ask.audiences ?? grant.audiences;
  return audiences ? { audiences } : {};
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

function describeAsk(ask: CredentialAsk): string {
  const parts = Object.entries({ cluster: ask.cluster, namespace: ask.namespace, serviceAccount: ask.serviceAccount, audiences: ask.audiences })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`);
  return parts.length ? parts.join(' ') : 'this request';
}
