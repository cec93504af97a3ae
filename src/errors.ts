import { z } from 'zod';

// One catalogue of every error kubevend answers with. The code is the stable contract for callers;
// titles are for people and may be reworded. Each code is a denial (kubevend says no to the caller)
// or a failure (kubevend or a dependency could not do what was asked), which the ledger records as
// outcome `denied` or `failed`. A refused issuance may get a record of its own
// (services/issue-credentials.ts says when), except with a code marked `counted`: refused in bursts
// before anything was tried (a limit reached, a full queue), it is only counted per client address
// (services/refusals.ts), so that a burst never becomes a burst of records.
const catalogue = {
  token_missing: [401, 'A CI identity token is required', 'denial'],
  token_malformed: [401, 'The identity token is not a well-formed JWT', 'denial'],
  token_too_large: [401, 'The identity token is too large', 'denial'],
  issuer_unknown: [401, 'The identity token comes from an issuer kubevend does not trust', 'denial'],
  algorithm_not_allowed: [401, 'The identity token is signed with an algorithm the issuer does not allow', 'denial'],
  signature_invalid: [401, 'The identity token signature does not verify', 'denial'],
  token_expired: [401, 'The identity token has expired', 'denial'],
  token_not_yet_valid: [401, 'The identity token is not valid yet', 'denial'],
  audience_mismatch: [401, 'The identity token is not meant for kubevend', 'denial'],
  claim_invalid: [401, 'A required claim of the identity token is missing or invalid', 'denial'],
  token_too_old: [401, 'The identity token was issued too long ago', 'denial'],
  key_unknown: [401, 'The identity token is signed with a key the issuer does not publish', 'denial'],
  token_replayed: [401, 'The identity token has been used already', 'denial'],
  issuer_unavailable: [503, 'The issuer\'s keys cannot be fetched', 'failure'],
  pipeline_not_matched: [403, 'No pipeline in the policy matches this identity', 'denial'],
  conditions_not_met: [403, 'The pipeline matched but its conditions do not hold', 'denial'],
  grant_not_allowed: [403, 'The pipeline is not granted what was asked for', 'denial'],
  operator_required: [403, 'This needs an operator role the caller does not have', 'denial'],
  pipeline_suspended: [403, 'The pipeline is suspended by an operator', 'denial'],
  cluster_unknown: [404, 'No cluster of that name is configured', 'denial'],
  bad_request: [400, 'The request is not well-formed HTTP', 'denial'],
  invalid_request: [400, 'The request is not valid', 'denial'],
  cursor_invalid: [400, 'The pagination cursor is not valid', 'denial'],
  malformed_body: [400, 'The request body could not be parsed', 'denial'],
  body_too_large: [413, 'The request body is too large', 'denial'],
  unsupported_media_type: [415, 'The request body must be application/json', 'denial'],
  route_not_found: [404, 'No such route', 'denial'],
  issuance_not_found: [404, 'No such issuance, or not one the caller may see', 'denial'],
  suspension_not_found: [404, 'The pipeline is not suspended', 'denial'],
  checkpoint_not_found: [404, 'No audit checkpoint is signed here (no signing key, or nothing recorded yet)', 'denial'],
  receipt_not_found: [404, 'No audit record has that id and receipt key', 'denial'],
  receipt_pending: [409, 'The audit record is not in a signed checkpoint yet; retry after the next one', 'denial'],
  method_not_allowed: [405, 'Method not allowed', 'denial'],
  request_timeout: [408, 'The request did not arrive in time', 'denial'],
  url_too_long: [414, 'A part of the URL is too long', 'denial'],
  expectation_failed: [417, 'The server cannot meet the request\'s Expect header', 'denial'],
  headers_too_large: [431, 'The request headers are too large', 'denial'],
  kube_object_not_found: [404, 'A Kubernetes object the grant needs does not exist', 'failure'],
  kube_forbidden: [502, 'The Kubernetes API server refused kubevend a permission it needs', 'failure'],
  kube_rejected: [502, 'The Kubernetes API server rejected the request', 'failure'],
  kube_error: [502, 'The Kubernetes API server failed', 'failure'],
  kube_timeout: [504, 'The Kubernetes API server did not answer in time', 'failure'],
  durable_token_timeout: [504, 'The token controller did not fill the durable token in time', 'failure'],
  rbac_escalation_refused: [502, 'The API server refused a role kubevend may not grant', 'failure'],
  cluster_unreachable: [503, 'The Kubernetes API server cannot be reached', 'failure'],
  cluster_throttled: [503, 'The Kubernetes API server is turning kubevend\'s calls away; retry later', 'failure'],
  store_unavailable: [503, 'The store cannot answer, so nothing is issued or changed', 'failure'],
  audit_sink_unavailable: [503, 'A fail-closed audit sink did not take the record, so nothing is issued', 'failure'],
  rate_limited: [429, 'The pipeline has asked too often; retry later', 'denial', 'counted'],
  overloaded: [503, 'kubevend is at capacity; retry shortly', 'failure', 'counted'],
  internal_error: [500, 'Internal error', 'failure'],
} as const satisfies Record<string, readonly [number, string, 'denial' | 'failure', 'counted'?]>;

export type ProblemCode = keyof typeof catalogue;

export const problemCodes = Object.keys(catalogue) as [ProblemCode, ...ProblemCode[]];

export const problemTypeUri = (code: ProblemCode): string => `urn:kubevend:problem:${code}`;

/** A failure a caller can act on: rendered as RFC 9457 problem+json with a stable `code`. */
export class Problem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  /** Whether kubevend said no (`denial`) or could not do it (`failure`). */
  readonly kind: 'denial' | 'failure';
  /** Whether a refused issuance with this code may get a ledger record of its own (`recorded`) or is only `counted` per address. */
  readonly refusal: 'recorded' | 'counted';
  readonly errors?: ProblemFieldError[];
  /** Seconds after which a retry may succeed; sent as `Retry-After`. */
  readonly retryAfter?: number;

  constructor(code: ProblemCode, detail: string, options?: { errors?: ProblemFieldError[]; cause?: unknown; retryAfter?: number }) {
    // A Problem is an answer, not a fault: its stack is never logged nor sent (a failure's cause,
    // logged with it, keeps its own), so none is captured. Refusals are kubevend's commonest
    // Problems, and capturing a stack was a noticeable share of the CPU a refusal costs.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail, { cause: options?.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'Problem';
    this.code = code;
    const entry: readonly [number, string, 'denial' | 'failure', 'counted'?] = catalogue[code];
    const [status, title, kind, refusal = 'recorded'] = entry;
    this.kind = kind;
    this.refusal = refusal;
    this.status = status;
    this.title = title;
    if (options?.errors) this.errors = options.errors;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export const problemFieldErrorSchema = z.object({
  path: z.string().describe('Where in the request the error is, as a JSON pointer'),
  message: z.string(),
});
export type ProblemFieldError = z.infer<typeof problemFieldErrorSchema>;

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.enum(problemCodes),
    errors: z.array(problemFieldErrorSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem; `code` is stable' });
export type ProblemBody = z.infer<typeof problemSchema>;

export function problemBody(problem: Problem, instance: string): ProblemBody {
  return {
    type: problemTypeUri(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    instance,
    code: problem.code,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

/**
 * A store call that failed below kubevend's own rules: the database refused it or could not be
 * reached. It keeps the driver's message and code, and the driver's error as its cause.
 */
export class StoreFailure extends Error {
  readonly code?: string;

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'StoreFailure';
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') this.code = code;
  }
}

/**
 * The one mapping from what was thrown to what the caller is answered: a Problem as it is, a store
 * that could not answer as 503 `store_unavailable` (with `storeDetail`, what was not done), anything
 * else as a fault of kubevend's own.
 */
export function problemOf(err: unknown, storeDetail = 'the store could not answer; try again'): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof StoreFailure) return new Problem('store_unavailable', storeDetail, { cause: err });
  return new Problem('internal_error', 'kubevend failed to handle the request', { cause: err });
}
