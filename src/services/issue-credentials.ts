import { createSecretKey } from 'node:crypto';
import { Problem, problemOf } from '../errors.ts';
import { receiptKey } from '../ledger/receipt.ts';
import type { AuditSinks } from '../sinks/index.ts';
import type { AuditRecord, Store } from '../store/ports.ts';
import { tokenFingerprint, whatWasDecided, whoAsked, type RequestContext } from './audit-facts.ts';
import type { CredentialAsk } from '../policy/ask.ts';
import { evaluate, type PolicyDecision } from '../policy/decide.ts';
import type { LoadedPolicy, PolicySource } from '../policy/load.ts';
import { holderKey } from '../policy/operators.ts';
import type { Authenticator, CallerIdentity } from './authenticate.ts';
import type { IssuedWithEndpoint } from './credential-formats.ts';
import { IssuanceFailed, type IssuanceEngine, type IssuancePlan, type IssuedAccess } from './issuance-engine.ts';
import { newIssuanceId } from './issuance-id.ts';
import { createRateLimiter, type RateLimiter } from './rate-limiter.ts';
import type { Admission } from './admission.ts';
import type { RefusalTally } from './refusals.ts';
import type { SuspensionCache } from './suspension-view.ts';
import { noTelemetry, type KubeGateway, type ServiceLogger, type Telemetry } from './ports.ts';

export interface CredentialServiceDeps {
  policy: PolicySource;
  kube: KubeGateway;
  store: Store;
  authenticator: Authenticator;
  engine: IssuanceEngine;
  fingerprintKey: Buffer;
  logger?: ServiceLogger;
  telemetry?: Telemetry;
  rateLimiter?: RateLimiter;
  tally: RefusalTally;
  suspensions: SuspensionCache;
  admission: Admission;
  /** This replica's id, whose lease says it is finishing its pending issuances (see LeaseStore). */
  replica?: string;
  /** The audit sinks: a credential waits until its record reached every fail-closed one. */
  auditSinks?: Pick<AuditSinks, 'delivered'>;
}

export interface IssuedCredential {
  pipeline: string;
  /** One entry per cluster, in the order asked; the first is the kubeconfig's current context. */
  issued: (IssuedWithEndpoint & { auditRecord: { id: number; hash: string; receiptKey: string } })[];
}

/** Problems that say "no" to the caller, as opposed to kubevend or Kubernetes failing: the catalogue says which. */
export function isDenial(problem: Problem): boolean {
  return problem.kind === 'denial';
}

/**
 * Authenticates the CI token, decides by policy, issues in every asked cluster (all or nothing) and
 * records it. Fail closed: when the ledger cannot be written, what was created is deleted and the
 * caller gets no credential.
 */
export function createCredentialService(deps: CredentialServiceDeps) {
  const { policy, kube, store, authenticator, engine } = deps;
  const telemetry = deps.telemetry ?? noTelemetry;
  const fingerprintKey = createSecretKey(deps.fingerprintKey);
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(store.rateLimits, (err) => {
    deps.logger?.warn({ err: (err as Error).message }, 'a rate-limit count could not be given back');
  });

  /**
   * A refusal is a chained record of its own when its code is one the catalogue (errors.ts) has
   * `recorded` and it counts against a pipeline the caller fits, up to that pipeline's rate limit
   * for refusals; any other denial is counted per address and window (refusals.ts). So denials grow
   * the ledger by at most the pipelines' limits and one record per address and window, whatever
   * arrives; a failure (kubevend's or a dependency's, not the caller's answer) is recorded each time.
   */
  async function recordRefusal(context: RequestContext, identity: CallerIdentity | undefined, err: unknown, current: LoadedPolicy, decision?: PolicyDecision, matched?: string) {
    const problem = problemOf(err);
    telemetry.issuance(isDenial(problem) ? 'denied' : 'failed', {
      code: problem.code, ...(decision ? { pipeline: decision.pipeline, cluster: decision.cluster, mode: decision.access.mode } : {}),
    });
    if (problem.refusal === 'counted') return deps.tally.count(context.clientAddress, problem);
    const pipeline = current.pipelines.find((p) => p.name === (decision?.pipeline ?? matched));
    if (isDenial(problem)) {
      if (!pipeline) return deps.tally.count(context.clientAddress, problem);
      try {
        await rateLimiter.take(`${pipeline.name}#refusals`, pipeline.rateLimit);
      } catch (limited) {
        const why = problemOf(limited);
        // A spent budget is the limit at work; only a failure to count it is worth a warning.
        if (!isDenial(why)) deps.logger?.warn({ err: why.message, requestId: context.requestId }, 'the refusal budget could not be counted; the refusal is counted per address');
        return deps.tally.count(context.clientAddress, why);
      }
    }
    try {
      await store.audit.append({
        kind: 'issuance',
        outcome: isDenial(problem) ? 'denied' : 'failed',
        reasonCode: problem.code,
        reason: problem.message,
        ...whoAsked(context, identity),
        ...(decision ? whatWasDecided(decision) : pipeline ? { pipeline: pipeline.name } : {}),
      });
    } catch (auditErr) {
      deps.logger?.error({ err: (auditErr as Error).message, code: problem.code, requestId: context.requestId }, 'audit record of a refused request could not be written');
    }
  }

  /** The write-ahead record: made before anything exists in the cluster, so nothing is ever untracked. */
  async function writeAhead(identity: CallerIdentity, plan: IssuancePlan, holder: string): Promise<void> {
    const { decision, issuanceId: id } = plan;
    try {
      await store.issuances.createPending({
        id, pipeline: decision.pipeline, issuer: identity.issuer, subject: identity.subject ?? '',
        cluster: decision.cluster, namespace: decision.namespace, serviceAccount: plan.serviceAccount,
        tokenKind: decision.tokenKind, kubeTokenJti: null, objects: plan.objects, createdAt: new Date(), expiresAt: plan.expiresAt,
        holder, owner: deps.replica ?? null,
      });
    } catch (err) {
      throw problemOf(err, 'the issuance could not be recorded; nothing was issued');
    }
  }

  async function record(identity: CallerIdentity, context: RequestContext, decisions: PolicyDecision[], issued: IssuedAccess[], ask: CredentialAsk) {
    let answer;
    try {
      // Every record and every activation in one transaction: the ledger never says granted for
      // an issuance the caller does not get.
      answer = await store.grants.commit(issued.map((access, i) => ({
        record: {
          kind: 'issuance', outcome: 'granted',
          ...whoAsked(context, identity), ...whatWasDecided(decisions[i]!),
          serviceAccount: access.serviceAccount, objects: access.objects.map(stripUid),
          requestedTtlSeconds: ask.ttlSeconds ?? null,
          actualTtlSeconds: Math.round((access.expiresAt.getTime() - Date.now()) / 1000),
          kubeTokenJti: access.kubeTokenJti ?? null,
          tokenFingerprint: tokenFingerprint(fingerprintKey, access.token),
          issuanceId: access.issuanceId,
        },
        issuanceId: access.issuanceId,
        outcome: { expiresAt: access.expiresAt, kubeTokenJti: access.kubeTokenJti ?? null },
        owner: deps.replica ?? null,
      })));
    } catch (err) {
      throw problemOf(err, 'the audit ledger could not be written; nothing was issued');
    }
    if ('granted' in answer) return withheldUnlessDelivered(answer.granted, context);
    // Refused under the chain's lock, which says why: what the store holds now may differ.
    if (answer.refused === 'suspended') {
      // This replica's view missed the suspension: the next request is refused before it creates anything.
      deps.suspensions.invalidate();
      throw new Problem('pipeline_suspended', `pipeline "${answer.pipeline}" was suspended by an operator while this was issued; nothing was handed out`);
    }
    throw new Problem('store_unavailable', 'a pending issuance was taken over by the reaper; nothing was issued');
  }

  /**
   * The records of a grant reached every fail-closed sink, or the credential is withdrawn before it
   * is handed out: marked revoked, with a record saying why, and (by the caller's undo) its objects
   * deleted. The ledger then says granted and revoked, which is what happened.
   */
  async function withheldUnlessDelivered(granted: AuditRecord[], context: RequestContext): Promise<AuditRecord[]> {
    try {
      await deps.auditSinks?.delivered(granted);
      return granted;
    } catch (err) {
      const problem = problemOf(err);
      await Promise.all(granted.map(async (record) => {
        try {
          await store.issuances.markRevoked(record.issuanceId!, new Date(), 'kubevend: audit sink');
          await store.audit.append({
            kind: 'revocation', outcome: 'granted', requestId: context.requestId, pipeline: record.pipeline, cluster: record.cluster,
            namespace: record.namespace, issuanceId: record.issuanceId, objects: record.objects,
            // A fixed reason: the ledger is read by others than the job, and a sink's error is nobody's business there.
            reasonCode: problem.code, reason: 'withdrawn before it was handed out: a fail-closed audit sink did not take its record',
          });
        } catch (recordErr) {
          deps.logger?.error({ err: (recordErr as Error).message, issuanceId: record.issuanceId }, 'a withheld issuance could not be marked revoked; the reaper expires it');
        }
      }));
      throw problem;
    }
  }

  /**
   * All or nothing: what was created goes, and the write-ahead records say so. The issuance that
   * failed has already rolled itself back when it could (its IssuanceFailed says); the others,
   * issued in full, are deleted here.
   */
  async function undo(written: IssuancePlan[], issuedCount: number, failure: unknown): Promise<void> {
    await Promise.all(written.map(async (plan, i) => {
      try {
        if (i < issuedCount) await engine.deleteAll(plan);
        else if (!(failure instanceof IssuanceFailed && failure.rolledBack)) throw new Error('its objects could not all be deleted', { cause: failure });
        await store.issuances.markFailed(plan.issuanceId, new Date());
      } catch (err) {
        // Still pending: released, so that the reaper retries at once rather than after a grace
        // meant for issuances still under way.
        deps.logger?.warn({ err: (err as Error).message, issuanceId: plan.issuanceId }, 'an issuance that failed could not be undone now; the reaper will');
        await store.issuances.release(plan.issuanceId).catch(() => {
          // The store is what failed: the grace, or the lapse of this replica's lease, covers it.
        });
      }
    }));
  }

  /**
   * Issues for an authenticated identity: with `spend`, its token is spent here, first of all that
   * writes, so that a replayed token costs no record, no rate-limit count and no slot; without,
   * it was spent already.
   */
  async function issueFor(identity: CallerIdentity, ask: CredentialAsk, clusters: string[] | undefined, context: RequestContext, options: { spend?: boolean } = {}): Promise<IssuedCredential> {
    // One snapshot of the policy for the whole request: a reload meanwhile changes the next one.
    const current = policy.current();
    const decisions: PolicyDecision[] = [];
    const written: IssuancePlan[] = [];
    const issued: IssuedAccess[] = [];
    let matched: string | undefined;
    // Whether this request holds the token's jti, to give back when it issues nothing.
    let holdsToken = !options.spend;
    let leave: (() => void) | undefined;
    try {
      const suspensions = await deps.suspensions.current();
      for (const cluster of clusters ?? [ask.cluster]) {
        const evaluation = evaluate(current, { identity, ask: cluster === undefined ? ask : { ...ask, cluster }, suspensions });
        matched ??= evaluation.matched;
        if (!evaluation.decision) throw evaluation.denial!;
        decisions.push(evaluation.decision);
      }
      if (!holdsToken) {
        await authenticator.spend(identity);
        holdsToken = true;
      }
      const giveBack: (() => void)[] = [];
      try {
        for (const name of new Set(decisions.map((d) => d.pipeline))) {
          giveBack.push(await rateLimiter.take(name, current.pipelines.find((p) => p.name === name)!.rateLimit));
        }
      } catch (limited) {
        giveBack.forEach((give) => give());
        throw limited;
      }
      // Waiting for a slot comes after the policy and the rate limit: only what may be issued queues.
      leave = await deps.admission.enter(decisions[0]!.pipeline).catch((err: unknown) => {
        giveBack.forEach((give) => give());
        throw err;
      });
      for (const decision of decisions) {
        const plan = engine.plan(decision, newIssuanceId());
        const holder = holderKey(current.pipelines.find((p) => p.name === decision.pipeline)!, identity);
        await writeAhead(identity, plan, holder);
        written.push(plan);
        issued.push(await engine.issue(plan));
      }
      const records = await record(identity, context, decisions, issued, ask);
      for (const d of decisions) telemetry.issuance('granted', { pipeline: d.pipeline, cluster: d.cluster, mode: d.access.mode });
      return {
        pipeline: decisions[0]!.pipeline,
        // Its ledger record, and the key that only this caller gets to ask for its receipt with.
        issued: issued.map((access, i) => ({
          ...access, endpoint: kube.endpoint(access.cluster),
          auditRecord: { id: records[i]!.id, hash: records[i]!.hash, receiptKey: receiptKey(fingerprintKey, records[i]!) },
        })),
      };
    } catch (thrown) {
      // Nothing is handed out: the CI token may be used again.
      await undo(written, issued.length, thrown);
      const err = thrown instanceof IssuanceFailed ? thrown.cause : thrown;
      if (holdsToken) {
        await authenticator.release(identity).catch((releaseErr: unknown) => {
          deps.logger?.warn({ err: (releaseErr as Error).message, requestId: context.requestId }, 'the token\'s jti could not be given back; the job needs a new token');
        });
      }
      await recordRefusal(context, identity, err, current, decisions[issued.length] ?? decisions[0], matched);
      throw err;
    } finally {
      leave?.();
    }
  }

  return {
    issueFor,

    /** Issues for a verified caller, spending its token with the first write-ahead record. */
    issue: (identity: CallerIdentity, ask: CredentialAsk, clusters: string[] | undefined, context: RequestContext) =>
      issueFor(identity, ask, clusters, context, { spend: true }),
  };
}

function stripUid({ kind, name, namespace }: { kind: string; name: string; namespace?: string }) {
  return { kind, name, ...(namespace ? { namespace } : {}) };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
