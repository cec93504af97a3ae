// What the services depend on for storage. Plain types only: no query-builder or driver types leak
// out of src/store, so services and tests see the same contract on SQLite and PostgreSQL.

/** Remembers CI token ids (`jti`) so that each token is accepted once, across replicas. */
export interface ReplayGuard {
  /** True the first time (issuer, jti) is seen while the token lives; false for every later call, from any process. */
  acceptOnce(issuer: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** Forgets a jti whose request issued nothing, so the CI job may retry with the same token. */
  release(issuer: string, jti: string): Promise<void>;
  /** Deletes entries whose token expired at or before `now`; returns how many. */
  pruneReplay(now: Date): Promise<number>;
}

export type AuditKind = 'issuance' | 'revocation' | 'expiry' | 'rotation' | 'suspension' | 'refusals';
export type AuditOutcome = 'granted' | 'denied' | 'failed';
export type TokenKind = 'short-lived' | 'durable';

/** The CI identity claims worth keeping; readable, never secret. */
export interface AuditClaims {
  repository?: string;
  project?: string;
  ref?: string;
  sha?: string;
  workflow?: string;
  runId?: string;
  jobId?: string;
  environment?: string;
  actor?: string;
  /** The CI token's own `jti`. */
  jti?: string;
}

/** A Kubernetes object created for (or used by) an issuance. */
export interface KubeObjectRef {
  kind: string;
  name: string;
  namespace?: string;
}

/** One audit record as the caller writes it. Never a token, kubeconfig or key. */
export interface AuditRecordInput {
  /** Defaults to the time of the append. */
  time?: Date;
  kind: AuditKind;
  outcome: AuditOutcome;
  requestId?: string | null;
  reasonCode?: string | null;
  reason?: string | null;
  clientAddress?: string | null;
  issuer?: string | null;
  claims?: AuditClaims;
  pipeline?: string | null;
  grant?: string | null;
  cluster?: string | null;
  namespace?: string | null;
  serviceAccount?: string | null;
  objects?: KubeObjectRef[];
  requestedTtlSeconds?: number | null;
  actualTtlSeconds?: number | null;
  audiences?: string[];
  tokenKind?: TokenKind | null;
  kubeTokenJti?: string | null;
  /** An HMAC of the issued token, computed by the caller. */
  tokenFingerprint?: string | null;
  issuanceId?: string | null;
}

/** A stored audit record: every field present (null when unknown), linked into the hash chain. */
export type AuditRecord = Required<Omit<AuditRecordInput, 'time' | 'claims' | 'objects' | 'audiences'>> & {
  id: number;
  time: Date;
  claims: AuditClaims;
  objects: KubeObjectRef[];
  audiences: string[];
  /** Hash of the record before this one (or of the last pruned one; zeros for the first ever). */
  prevHash: string;
  /** SHA-256 over `prevHash` and the canonical serialisation of this record's fields. */
  hash: string;
};

export interface AuditFilter {
  pipeline?: string;
  repository?: string;
  project?: string;
  cluster?: string;
  namespace?: string;
  outcome?: AuditOutcome;
  kind?: AuditKind;
  /** Records at or after this time. */
  from?: Date;
  /** Records before this time. */
  to?: Date;
  issuanceId?: string;
}

/** A page request: `limit` is 1..500 (default 100); `cursor` is the `nextCursor` of the page before. */
export interface PageRequest {
  cursor?: string;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/** A point on the chain: its first `size` records, the last of which hashes to `headHash`. */
export interface ChainPoint {
  size: number;
  headHash: string;
}

export interface ChainLink {
  id: number;
  prevHash: string;
  hash: string;
}

export type ChainProblem =
  | 'content_changed' | 'link_broken' | 'missing' | 'head_mismatch'
  | 'shorter_than_checkpoint' | 'checkpoint_differs' | 'checkpoint_pruned' | 'below_anchor' | 'outside_chain';

export type ChainVerification =
  | { ok: true; count: number }
  | { ok: false; count: number; recordId: number; problem: ChainProblem; detail: string };

/** Signed checkpoints as the store keeps them: opaque JSON, checkable by src/ledger alone. */
export interface CheckpointStore {
  /** Keeps a checkpoint; one of the same size already kept wins. */
  save(size: number, fromSize: number, body: string): Promise<void>;
  latest(): Promise<string | undefined>;
  /** The first checkpoint whose batch holds record `id` (fromSize < id <= size). */
  covering(id: number): Promise<string | undefined>;
}

/** An issuance handed out: its audit record, and what the cluster answered for its write-ahead record. */
export interface Grant {
  record: AuditRecordInput;
  issuanceId: string;
  outcome: IssuanceOutcome;
  /** The replica that made the write-ahead record (null for none): the grant holds only while it still owns it. */
  owner: string | null;
}

/** The tamper-evident audit ledger. `append` fails closed: no record, no credential. */
export interface AuditLedger {
  append(record: AuditRecordInput): Promise<AuditRecord>;
  /**
   * Walks the chain from the prune anchor; `count` is the records checked before any break. A prune
   * running at the same time can make it report records missing: verify and prune on one schedule.
   * With `extending` (a signed checkpoint's size and head), the chain must also pass through it:
   * its record `size` hashes to `headHash`, so a chain recomputed since then fails.
   */
  verify(extending?: ChainPoint): Promise<ChainVerification>;
  /** The chain's head now: how many records it has ever held (the last id) and the last hash. */
  head(): Promise<ChainPoint & { anchorId: number }>;
  /** The links of the records after `afterId` up to `upToId`, in id order: ids and hashes, no fields. */
  links(afterId: number, upToId: number): Promise<ChainLink[]>;
  get(id: number): Promise<AuditRecord | undefined>;
  /**
   * Tells `listener` of every record once its transaction has committed, in this process, in id
   * order per append; returns the way to stop. A listener must not throw.
   */
  onAppend(listener: (records: AuditRecord[]) => void): () => void;
  /** Removes the oldest records, up to the first one at or after `olderThan`; returns how many. */
  prune(olderThan: Date): Promise<number>;
  /** Newest first. A bad cursor or limit throws a 400 `Problem`. */
  list(filter: AuditFilter, page?: PageRequest): Promise<Page<AuditRecord>>;
  /** Every matching record, newest first, read in batches. */
  stream(filter: AuditFilter): AsyncIterable<AuditRecord>;
}

/**
 * `pending` is the write-ahead record made before anything is created in a cluster; it becomes
 * `active` when the credential is handed out, or `failed` once what was created is removed.
 * `active` lasts until kubevend revokes it or the reaper has cleaned it up after `expiresAt`.
 */
export type IssuanceState = 'pending' | 'active' | 'failed' | 'expired' | 'revoked';

export interface IssuanceInput {
  id: string;
  pipeline: string;
  issuer: string;
  subject: string;
  cluster: string;
  namespace: string;
  serviceAccount: string;
  tokenKind: TokenKind;
  kubeTokenJti: string | null;
  objects: KubeObjectRef[];
  createdAt: Date;
  expiresAt: Date;
  /** The key of the identity it is issued to (policy/operators.ts): who may act on it as its holder. */
  holder?: string | null;
  /** The replica issuing it (its lease in LeaseStore), while it is pending. */
  owner?: string | null;
}

/** What the cluster answered, filled in when a pending issuance becomes active. */
export interface IssuanceOutcome {
  expiresAt: Date;
  kubeTokenJti: string | null;
}

export interface Issuance extends IssuanceInput {
  holder: string | null;
  owner: string | null;
  state: IssuanceState;
  revokedAt: Date | null;
  revokedBy: string | null;
  expiredAt: Date | null;
}

export interface IssuanceFilter {
  pipeline?: string;
  cluster?: string;
  state?: IssuanceState;
  /** Any of these pipelines (none: nothing matches). */
  pipelines?: string[];
  /** Any of these states. */
  states?: IssuanceState[];
  /** Only what is held by one of these holder keys (none: nothing matches). */
  holders?: string[];
}

/** An operator's stop on a pipeline (in one cluster, or in all when `cluster` is null). */
export interface Suspension {
  pipeline: string;
  cluster: string | null;
  suspendedAt: Date;
  suspendedBy: string;
  reason: string | null;
}

/**
 * Suspensions, kept in the store so that every replica refuses alike. Each change is audited in the
 * same transaction, and grants check them under the chain's lock (GrantStore.commit), so
 * no issuance in flight can become active after its pipeline was suspended.
 */
export interface SuspensionStore {
  /** Suspends (or keeps suspended) and appends `record` in one transaction. */
  suspend(suspension: Omit<Suspension, 'suspendedAt'> & { at: Date }, record: AuditRecordInput): Promise<Suspension>;
  /** Lifts one; false when there was none. The record is appended only when one was lifted. */
  lift(pipeline: string, cluster: string | null, record: AuditRecordInput): Promise<boolean>;
  list(): Promise<Suspension[]>;
}

export interface IssuanceStore {
  create(issuance: IssuanceInput): Promise<Issuance>;
  /** The write-ahead record, made before anything is created in the cluster; `objects` is the plan. */
  createPending(issuance: IssuanceInput): Promise<Issuance>;
  /** Pending -> active. False when unknown or no longer pending (the reaper took it for stale). */
  activate(id: string, outcome: IssuanceOutcome): Promise<boolean>;
  /** Pending -> failed, once what was created is gone. */
  markFailed(id: string, at: Date): Promise<boolean>;
  /**
   * Pending issuances nobody is finishing, oldest first: those whose replica gave up on them
   * (`release`), those whose replica's lease lapsed at or before `now` (it died), and any created
   * before `before` (a replica that keeps no lease).
   */
  listStale(before: Date, limit?: number, now?: Date, self?: string): Promise<Issuance[]>;
  /** A pending issuance its replica could not undo: the reaper removes what is left at once. */
  release(id: string): Promise<boolean>;
  /**
   * Takes a stale pending issuance from `owner` (as listed), so that it can no longer become active
   * while the reaper deletes its objects; false when it moved on meanwhile.
   */
  claim(id: string, owner: string | null): Promise<boolean>;
  get(id: string): Promise<Issuance | undefined>;
  /** Newest first (by `createdAt`). */
  list(filter: IssuanceFilter, page?: PageRequest): Promise<Page<Issuance>>;
  /** Active -> revoked. False when the issuance is unknown or no longer active (another replica won). */
  markRevoked(id: string, at: Date, by: string): Promise<boolean>;
  /** Active -> expired, once its objects are gone. False when unknown or no longer active. */
  markExpired(id: string, at: Date): Promise<boolean>;
  /** Active issuances whose expiry is at or before `now`, oldest expiry first. */
  listDue(now: Date, limit?: number): Promise<Issuance[]>;
  /** Active issuances not yet expired at `now`, counted per pipeline and cluster, across replicas. */
  countLive(now: Date): Promise<{ pipeline: string; cluster: string; count: number }[]>;
}

/** Counts of requests per key (a pipeline) and window, shared by every replica of the store. */
export interface RateLimitStore {
  /** Counts one request, or answers how long until the window ends; `giveBack` undoes the count. */
  take(key: string, limit: { requests: number; per: number }): Promise<{ giveBack: () => Promise<void> } | { retryAfter: number }>;
  /** Forgets windows that ended at or before `at`; returns how many. */
  prune(at: Date): Promise<number>;
}

/** Each replica's lease: while it is renewed, the replica is finishing its pending issuances itself. */
export interface LeaseStore {
  renew(replica: string, until: Date): Promise<void>;
  /** Ends the lease at once (a replica that stops), so that others need not wait for it to lapse. */
  drop(replica: string): Promise<void>;
  /**
   * Forgets leases that lapsed before `before` and whose replica owns no pending issuance: replicas
   * get a new name each start, so without this the table grows by one row a start. Returns how many.
   */
  prune(before: Date): Promise<number>;
}

/**
 * What the grant transaction decided under the chain's lock: the records it appended, or why it
 * wrote nothing. The answer is the decision itself, so callers need not read the store again to
 * explain a refusal (a suspension lifted meanwhile would make that reading wrong).
 */
export type GrantAnswer = { granted: AuditRecord[] } | GrantRefusal;
export type GrantRefusal =
  /** A grant's pipeline is suspended in its cluster (or in all): `pipeline` and `cluster` are the grant's. */
  | { refused: 'suspended'; pipeline: string; cluster: string }
  /** An issuance is unknown, no longer pending, or no longer this replica's (the reaper took it for stale). */
  | { refused: 'not_pending'; issuanceId: string };

/** Handing out: the transaction that makes issuances active and records them. */
export interface GrantStore {
  /**
   * In one transaction, appends every grant's record and moves its issuance pending -> active:
   * all of it or nothing. A refusal writes nothing and names the first grant that was refused.
   */
  commit(grants: Grant[]): Promise<GrantAnswer>;
}

export interface Store {
  replay: ReplayGuard;
  audit: AuditLedger;
  checkpoints: CheckpointStore;
  issuances: IssuanceStore;
  grants: GrantStore;
  rateLimits: RateLimitStore;
  leases: LeaseStore;
  suspensions: SuspensionStore;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
