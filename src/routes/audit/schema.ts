import { z } from 'zod';
import { tokenKinds } from '../../policy/schema.ts';
import type { AuditRecord } from '../../store/ports.ts';

const auditKinds = ['issuance', 'revocation', 'expiry', 'rotation', 'suspension', 'refusals'] as const;
const outcomes = ['granted', 'denied', 'failed'] as const;

export const auditQuerySchema = z.strictObject({
  pipeline: z.string().min(1).max(63).optional(),
  repository: z.string().min(1).max(256).optional().describe('The CI identity\'s repository (GitHub)'),
  project: z.string().min(1).max(256).optional().describe('The CI identity\'s project path (GitLab)'),
  cluster: z.string().min(1).max(63).optional(),
  namespace: z.string().min(1).max(63).optional(),
  outcome: z.enum(outcomes).optional(),
  kind: z.enum(auditKinds).optional(),
  issuanceId: z.string().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Records at or after this time'),
  to: z.iso.datetime({ offset: true }).optional().describe('Records before this time'),
  cursor: z.string().min(1).max(200).optional().describe('`nextCursor` of the page before'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const claimsSchema = z.object({
  repository: z.string(), project: z.string(), ref: z.string(), sha: z.string(), workflow: z.string(),
  runId: z.string(), jobId: z.string(), environment: z.string(), actor: z.string(), jti: z.string(),
}).partial().describe('The CI identity\'s claims; `jti` is the CI token\'s own id');

export const auditRecordSchema = z.object({
  id: z.number().int(),
  time: z.iso.datetime(),
  kind: z.enum(auditKinds),
  outcome: z.enum(outcomes),
  requestId: z.string().nullable(),
  reasonCode: z.string().nullable().describe('The problem code of a refusal or failure'),
  reason: z.string().nullable(),
  clientAddress: z.string().nullable(),
  issuer: z.string().nullable(),
  claims: claimsSchema,
  pipeline: z.string().nullable(),
  grant: z.string().nullable(),
  cluster: z.string().nullable(),
  namespace: z.string().nullable(),
  serviceAccount: z.string().nullable(),
  objects: z.array(z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })),
  requestedTtlSeconds: z.number().int().nullable(),
  actualTtlSeconds: z.number().int().nullable(),
  audiences: z.array(z.string()),
  tokenKind: z.enum(tokenKinds).nullable(),
  kubeTokenJti: z.string().nullable().describe('The Kubernetes token\'s jti: credential-id in API-server audit events'),
  tokenFingerprint: z.string().nullable().describe('HMAC of the issued token; never the token'),
  issuanceId: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string().describe('SHA-256 over prevHash and this record: the tamper-evident chain'),
}).meta({ id: 'AuditRecord' });

export const verificationSchema = z.object({
  ok: z.boolean(),
  count: z.number().int().describe('Records checked before any break'),
  recordId: z.number().int().optional().describe('The first record whose link is broken'),
  problem: z.enum([
    'content_changed', 'link_broken', 'missing', 'head_mismatch', 'shorter_than_checkpoint', 'checkpoint_differs', 'checkpoint_pruned', 'below_anchor', 'outside_chain',
    'unknown_key', 'signature_invalid',
  ]).optional().describe('What broke; the `checkpoint_` ones and `shorter_than_checkpoint` say the ledger no longer extends a signed checkpoint'),
  detail: z.string().optional(),
}).meta({ id: 'ChainVerification' });

/**
 * A record as the API shows it, field by field: it is written without a zod pass (see the routes),
 * so no other field the store's record may come to hold reaches a caller. The claims are the ones
 * the ledger keeps (auditClaims) when it writes a record.
 */
export function auditRecordView(r: AuditRecord): z.input<typeof auditRecordSchema> {
  return {
    id: r.id, time: r.time.toISOString(), kind: r.kind, outcome: r.outcome, requestId: r.requestId,
    reasonCode: r.reasonCode, reason: r.reason, clientAddress: r.clientAddress, issuer: r.issuer,
    claims: r.claims, pipeline: r.pipeline, grant: r.grant, cluster: r.cluster, namespace: r.namespace,
    serviceAccount: r.serviceAccount, objects: r.objects, requestedTtlSeconds: r.requestedTtlSeconds,
    actualTtlSeconds: r.actualTtlSeconds, audiences: r.audiences, tokenKind: r.tokenKind,
    kubeTokenJti: r.kubeTokenJti, tokenFingerprint: r.tokenFingerprint, issuanceId: r.issuanceId,
    prevHash: r.prevHash, hash: r.hash,
  };
}
