import { z } from 'zod';
import { tokenKinds } from '../../policy/schema.ts';
import { credentialFormats } from '../../services/credential-formats.ts';
import type { Issuance, Suspension } from '../../store/ports.ts';

export const issuanceStates = ['pending', 'active', 'failed', 'expired', 'revoked'] as const;

export const issuanceSchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  issuer: z.string().describe('The issuer entry that vouched for the CI job'),
  subject: z.string().describe('The CI token\'s `sub`'),
  cluster: z.string(),
  namespace: z.string(),
  serviceAccount: z.string(),
  tokenKind: z.enum(tokenKinds),
  kubeTokenJti: z.string().nullable().describe('The Kubernetes token\'s `jti`: API-server audit events carry it as credential-id'),
  objects: z.array(z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  state: z.enum(issuanceStates).describe('pending: being issued; active; failed: nothing was handed out; expired; revoked'),
  revokedAt: z.iso.datetime().nullable(),
  revokedBy: z.string().nullable(),
  expiredAt: z.iso.datetime().nullable(),
}).meta({ id: 'Issuance' });

export const issuanceListQuerySchema = z.strictObject({
  pipeline: z.string().min(1).max(63).optional(),
  cluster: z.string().min(1).max(63).optional(),
  state: z.enum(issuanceStates).optional(),
  cursor: z.string().min(1).max(200).optional().describe('`nextCursor` of the page before'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const issuanceIdSchema = z.object({ id: z.string().regex(/^[0-9a-z]{26}$/, 'an issuance id is 26 lowercase letters and digits') });

export const revokeRequestSchema = z.strictObject({
  pipeline: z.string().min(1).max(63).describe('Suspend this pipeline and revoke every active issuance of it'),
  cluster: z.string().min(1).max(63).optional().describe('Only those in this cluster'),
}).meta({ id: 'RevokeRequest' });

export const rotateRequestSchema = z.strictObject({
  format: z.enum(credentialFormats).default('json').describe('As for POST /v1/credentials'),
}).meta({ id: 'RotateRequest' });

export function issuanceView({ holder: _holder, ...i }: Issuance): z.input<typeof issuanceSchema> {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    ...i,
    createdAt: i.createdAt.toISOString(), expiresAt: i.expiresAt.toISOString(),
    revokedAt: iso(i.revokedAt), expiredAt: iso(i.expiredAt),
  };
}

export const suspensionSchema = z.object({
  pipeline: z.string(),
  cluster: z.string().nullable().describe('The one cluster suspended; null for all'),
  suspendedAt: z.iso.datetime(),
  suspendedBy: z.string(),
}).meta({ id: 'Suspension' });

export function suspensionView(s: Suspension): z.input<typeof suspensionSchema> {
  return { pipeline: s.pipeline, cluster: s.cluster, suspendedAt: s.suspendedAt.toISOString(), suspendedBy: s.suspendedBy };
}
