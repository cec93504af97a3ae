import type { Kysely } from 'kysely';
import type { AuditClaims, AuditFilter, AuditKind, AuditOutcome, AuditRecord, KubeObjectRef, TokenKind } from './ports.ts';
import type { AuditRecordsTable, Database } from './schema.ts';

// Audit records to and from their rows, and the filtered query that list, stream and export share.

export function toAuditRow(record: AuditRecord): AuditRecordsTable {
  return {
    id: record.id,
    time_ms: record.time.getTime(),
    request_id: record.requestId,
    kind: record.kind,
    outcome: record.outcome,
    reason_code: record.reasonCode,
    reason: record.reason,
    client_address: record.clientAddress,
    issuer: record.issuer,
    claims: JSON.stringify(record.claims),
    claim_repository: record.claims.repository ?? null,
    claim_project: record.claims.project ?? null,
    pipeline: record.pipeline,
    grant_name: record.grant,
    cluster: record.cluster,
    namespace: record.namespace,
    service_account: record.serviceAccount,
    objects: JSON.stringify(record.objects),
    requested_ttl_seconds: record.requestedTtlSeconds,
    actual_ttl_seconds: record.actualTtlSeconds,
    audiences: JSON.stringify(record.audiences),
    token_kind: record.tokenKind,
    kube_token_jti: record.kubeTokenJti,
    token_fingerprint: record.tokenFingerprint,
    issuance_id: record.issuanceId,
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

export function fromAuditRow(row: AuditRecordsTable): AuditRecord {
  return {
    id: row.id,
    time: new Date(row.time_ms),
    requestId: row.request_id,
    kind: row.kind as AuditKind,
    outcome: row.outcome as AuditOutcome,
    reasonCode: row.reason_code,
    reason: row.reason,
    clientAddress: row.client_address,
    issuer: row.issuer,
    claims: JSON.parse(row.claims) as AuditClaims,
    pipeline: row.pipeline,
    grant: row.grant_name,
    cluster: row.cluster,
    namespace: row.namespace,
    serviceAccount: row.service_account,
    objects: JSON.parse(row.objects) as KubeObjectRef[],
    requestedTtlSeconds: row.requested_ttl_seconds,
    actualTtlSeconds: row.actual_ttl_seconds,
    audiences: JSON.parse(row.audiences) as string[],
    tokenKind: row.token_kind as TokenKind | null,
    kubeTokenJti: row.kube_token_jti,
    tokenFingerprint: row.token_fingerprint,
    issuanceId: row.issuance_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

const equalityFilters = {
  pipeline: 'pipeline',
  repository: 'claim_repository',
  project: 'claim_project',
  cluster: 'cluster',
  namespace: 'namespace',
  outcome: 'outcome',
  kind: 'kind',
  issuanceId: 'issuance_id',
} as const satisfies Partial<Record<keyof AuditFilter, keyof AuditRecordsTable>>;

/** Every record that `filter` selects, unordered. */
export function selectAudit(db: Kysely<Database>, filter: AuditFilter) {
  let query = db.selectFrom('audit_records').selectAll();
  for (const key of Object.keys(equalityFilters) as (keyof typeof equalityFilters)[]) {
    const value = filter[key];
    if (value !== undefined) query = query.where(equalityFilters[key], '=', value);
  }
  if (filter.from) query = query.where('time_ms', '>=', filter.from.getTime());
  if (filter.to) query = query.where('time_ms', '<', filter.to.getTime());
  return query;
}
