import { createHmac, type KeyObject } from 'node:crypto';
import type { AuditClaims, AuditRecordInput } from '../store/ports.ts';
import type { CallerIdentity } from './authenticate.ts';
import type { PolicyDecision } from '../policy/decide.ts';

/** Where a request came from, for the ledger. */
export interface RequestContext {
  requestId: string;
  clientAddress: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** The CI identity claims the ledger keeps (GitHub Actions and GitLab CI names); never secrets. */
export function auditClaims(identity: CallerIdentity): AuditClaims {
  const c = identity.claims as Record<string, unknown>;
  const picked: AuditClaims = {
    repository: text(c.repository),
    project: text(c.project_path),
    ref: text(c.ref),
    sha: text(c.sha),
    workflow: text(c.job_workflow_ref) ?? text(c.workflow),
    runId: text(c.run_id) ?? text(c.pipeline_id),
    jobId: text(c.job_id),
    environment: text(c.environment),
    actor: text(c.actor) ?? text(c.user_login),
    jti: identity.jti,
  };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as AuditClaims;
}

/** The part of an audit record that says who asked, from where. */
export function whoAsked(context: RequestContext, identity?: CallerIdentity): Partial<AuditRecordInput> {
  return {
    requestId: context.requestId,
    clientAddress: context.clientAddress,
    ...(identity ? { issuer: identity.issuer, claims: auditClaims(identity) } : {}),
  };
}

/** The part that says what policy decided. */
export function whatWasDecided(decision: PolicyDecision): Partial<AuditRecordInput> {
  return {
    pipeline: decision.pipeline,
    grant: `${decision.pipeline}[${decision.grantIndex}]`,
    cluster: decision.cluster,
    namespace: decision.namespace,
    tokenKind: decision.tokenKind,
    ...(decision.audiences ? { audiences: decision.audiences } : {}),
  };
}

/**
 * An HMAC of an issued token: an operator holding a leaked token can find its issuance, while the
 * ledger never holds anything that works as a credential. The key is a `KeyObject` made once
 * (`createSecretKey`): from raw bytes, every HMAC would make one of its own.
 */
export function tokenFingerprint(key: KeyObject, token: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(token).digest('base64url')}`;
}
