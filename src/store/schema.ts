// The tables as the query layer sees them, the same on both engines. Times are integer
// milliseconds since the epoch (sortable and comparable alike everywhere); JSON is stored as text.

export interface AuditRecordsTable {
  id: number;
  time_ms: number;
  request_id: string | null;
  kind: string;
  outcome: string;
  reason_code: string | null;
  reason: string | null;
  client_address: string | null;
  issuer: string | null;
  claims: string;
  /** Copies of `claims.repository` and `claims.project`, so that they can be filtered on. */
  claim_repository: string | null;
  claim_project: string | null;
  pipeline: string | null;
  grant_name: string | null;
  cluster: string | null;
  namespace: string | null;
  service_account: string | null;
  objects: string;
  requested_ttl_seconds: number | null;
  actual_ttl_seconds: number | null;
  audiences: string;
  token_kind: string | null;
  kube_token_jti: string | null;
  token_fingerprint: string | null;
  issuance_id: string | null;
  prev_hash: string;
  hash: string;
}

/** One row (id 1): the chain's head, locked by every append, and the anchor left by pruning. */
export interface AuditChainTable {
  id: number;
  last_id: number;
  head_hash: string;
  anchor_id: number;
  anchor_hash: string;
}

export interface ReplayTable {
  issuer: string;
  jti: string;
  expires_at_ms: number;
}

export interface IssuancesTable {
  id: string;
  pipeline: string;
  issuer: string;
  subject: string;
  cluster: string;
  namespace: string;
  service_account: string;
  token_kind: string;
  kube_token_jti: string | null;
  objects: string;
  created_at_ms: number;
  expires_at_ms: number;
  state: string;
  revoked_at_ms: number | null;
  revoked_by: string | null;
  expired_at_ms: number | null;
  /** Who holds the issuance (policy/operators.ts holderKey); null for records made before holders. */
  holder: string | null;
  /** The replica issuing it while pending; '' once it gave up; null when it keeps no lease. */
  owner: string | null;
}

export interface ReplicaLeasesTable {
  replica: string;
  expires_at_ms: number;
}

export interface SuspensionsTable {
  pipeline: string;
  /** '' for every cluster. */
  cluster: string;
  suspended_at_ms: number;
  suspended_by: string;
  reason: string | null;
}

export interface RateWindowsTable {
  key: string;
  window_start_ms: number;
  window_end_ms: number;
  count: number;
}

/** Signed checkpoints, kept so that receipts can be served; each is checkable without the database. */
export interface AuditCheckpointsTable {
  size: number;
  from_size: number;
  /** The checkpoint as signed, JSON. */
  body: string;
}

export interface Database {
  audit_records: AuditRecordsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_chain: AuditChainTable;
  replay: ReplayTable;
  issuances: IssuancesTable;
  suspensions: SuspensionsTable;
  rate_windows: RateWindowsTable;
  replica_leases: ReplicaLeasesTable;
}

/** Hash before the first record ever appended. */
export const genesisHash = '0'.repeat(64);
