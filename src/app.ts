import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { createMetrics, type Metrics } from './metrics.ts';
import { openapiPlugin } from './plugins/openapi.ts';
import { authenticationPlugin } from './plugins/authentication.ts';
import { inputGuardsPlugin } from './plugins/input-guards.ts';
import { checkExpectationHandler, clientErrorHandler, frameworkErrorHandler, problemsPlugin, refusalOf } from './plugins/problems.ts';
import { RequestLog } from './plugins/request-log.ts';
import { auditRoutes } from './routes/audit/index.ts';
import { auditProofRoutes } from './routes/audit/proofs.ts';
import { credentialRoutes } from './routes/credentials/index.ts';
import { docsRoutes } from './routes/docs/index.ts';
import { explainRoutes } from './routes/explain/index.ts';
import { healthRoutes } from './routes/health/index.ts';
import { issuanceRoutes } from './routes/issuances/index.ts';
import { metricsRoutes } from './routes/metrics/index.ts';
import { createCheckpointSigner, type CheckpointSignerOptions } from './services/audit-checkpoints.ts';
import { createAuditProofs } from './services/audit-proofs.ts';
import { createAuditQueries } from './services/audit-queries.ts';
import { createAuthenticator } from './services/authenticate.ts';
import { createExplainService } from './services/explain.ts';
import { createCredentialService } from './services/issue-credentials.ts';
import { createIssuanceEngine } from './services/issuance-engine.ts';
import { createIssuanceQueries } from './services/issuance-queries.ts';
import type { PolicySource } from './policy/load.ts';
import type { KubeGateway } from './services/ports.ts';
import { createAdmission } from './services/admission.ts';
import { createAuthFailureLimit, createRefusalTally, type AuthFailureLimitOptions } from './services/refusals.ts';
import { createSuspensionCache } from './services/suspension-view.ts';
import { createReadiness } from './services/readiness.ts';
import { createRevocationService } from './services/revoke.ts';
import { createRotationService } from './services/rotate.ts';
import type { Store } from './store/ports.ts';
import type { PublicKeys } from './ledger/signing-key.ts';
import { createAuditSinks } from './sinks/index.ts';
import type { SinkQueue } from './sinks/queue.ts';

export interface AppDeps {
  policy: PolicySource;
  kube: KubeGateway;
  store: Store;
  /** Key of the HMAC fingerprints of issued tokens in the ledger. */
  fingerprintKey: Buffer;
  metrics?: Metrics;
  logger?: FastifyBaseLogger;
  /** Fastify's trustProxy: false, true (any), a hop count, or the proxies' addresses/CIDRs. */
  trustProxy?: boolean | number | string[];
  durableTokenTimeoutMs?: number;
  /** The installation whose label every object carries (KUBEVEND_INSTANCE); default `kubevend`. */
  instance?: string;
  /** This replica's id, renewed as a lease in the store by the server (main.ts); pending issuances carry it. */
  replica?: string;
  /** Issuances that run at once; the rest wait in a queue per pipeline (default 64). */
  maxInFlight?: number;
  /** Requests a pipeline may have waiting (default 1000), and the longest wait (default 30 s). */
  queue?: { length?: number; maxWaitMs?: number };
  /** Failed authentications an address may have before it is refused at once. */
  authFailures?: AuthFailureLimitOptions;
  /** Length of the window refusals are counted in, per address (default a minute). */
  refusalWindowMs?: number;
  /** Signing of audit checkpoints; without it, none are signed. */
  checkpoints?: CheckpointSignerOptions;
  /** Public keys of earlier signing keys, so that their checkpoints still verify. */
  formerAuditKeys?: PublicKeys;
  /** Where every audit record also goes (src/sinks); closed with the app. */
  auditSinks?: SinkQueue[];
}

/** Builds the HTTP app from explicit dependencies; `server.ts` passes the real ones. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    trustProxy: typeof deps.trustProxy === 'number' ? hopsTrusted(deps.trustProxy) : deps.trustProxy ?? false,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    logController: new RequestLog(),
    // What Node's parser and Fastify's router refuse before a route sees the request is answered as
    // problem+json too; a request without a Host is refused by the problems plugin, not by Node.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    http: { requireHostHeader: false },
    // A request must arrive whole within this: a client that sends its headers and holds the body
    // back holds a socket, not the service.
    requestTimeout: 30_000,
  });
  app.server.on('checkExpectation', checkExpectationHandler.bind(app));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON is the only body kubevend reads; anything else is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // While closing, answers to requests still in flight close their connection, so that keep-alive
  // clients let the server finish instead of holding it open until their sockets time out.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (draining) reply.header('connection', 'close');
  });
  const metrics = deps.metrics ?? createMetrics();
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const refused = refusalOf(request);
    if (refused) metrics.telemetry.refusal(refused);
  });

  const authenticator = createAuthenticator({ policy: deps.policy, replay: deps.store.replay });
  const engine = createIssuanceEngine(deps.kube, {
    ...(deps.durableTokenTimeoutMs ? { durableTokenTimeoutMs: deps.durableTokenTimeoutMs } : {}),
    ...(deps.instance ? { instance: deps.instance } : {}),
  });
  const tally = createRefusalTally({
    store: deps.store,
    ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.refusalWindowMs ? { windowMs: deps.refusalWindowMs } : {}),
  });
  app.addHook('onClose', () => tally.close());
  const suspensions = createSuspensionCache(deps.store);
  const admission = createAdmission({
    concurrency: deps.maxInFlight ?? 64,
    ...(deps.queue?.length ? { queueLength: deps.queue.length } : {}), ...(deps.queue?.maxWaitMs ? { maxWaitMs: deps.queue.maxWaitMs } : {}),
  });
  const auditSinks = deps.auditSinks?.length ? createAuditSinks(deps.auditSinks) : undefined;
  const stopPublishing = auditSinks && deps.store.audit.onAppend(auditSinks.publish);
  const services = { ...deps, auditSinks, authenticator, engine, tally, suspensions, admission, telemetry: metrics.telemetry, ...(deps.logger ? { logger: deps.logger } : {}) };
  await app.register(problemsPlugin);
  await app.register(inputGuardsPlugin);
  await app.register(authenticationPlugin, { authenticator, tally, limit: createAuthFailureLimit(deps.authFailures) });
  await app.register(openapiPlugin);
  // Clusters are checked once before the server listens, then in the background until it closes.
  // Whether the checkpoint signer refused its last signing: the ledger no longer extends what it signed.
  let signingRefused = false;
  const readiness = createReadiness({ ...deps, ...(deps.checkpoints ? { auditSigning: () => !signingRefused } : {}) });
  metrics.observe({ store: deps.store, clusters: readiness.clusterStates });
  app.addHook('onReady', () => readiness.start());
  app.addHook('onClose', async () => readiness.stop());
  await app.register(healthRoutes, { readiness });
  await app.register(metricsRoutes, { metrics });
  const credentials = createCredentialService(services);
  const revocations = createRevocationService(services);
  await app.register(credentialRoutes, { credentials });
  await app.register(explainRoutes, { explain: createExplainService(services) });
  await app.register(issuanceRoutes, {
    revocations,
    queries: createIssuanceQueries(services),
    rotations: createRotationService({ ...services, credentials, revocations }),
  });
  await app.register(auditRoutes, { audit: createAuditQueries(services) });
  const signing = deps.checkpoints;
  const auditKeys = new Map(deps.formerAuditKeys);
  if (signing) auditKeys.set(signing.key.keyId, signing.key.publicKey);
  const signer = signing && createCheckpointSigner({
    ...signing, store: deps.store, ...(deps.logger ? { logger: deps.logger } : {}), ...(auditSinks ? { onSigned: auditSinks.checkpoint } : {}),
    trustedKeys: auditKeys,
    onRefused: (refused) => {
      signingRefused = refused;
      metrics.auditCheckpointRefused.set(refused ? 1 : 0);
    },
  });
  if (signer) app.addHook('onReady', async () => signer.start());
  // After the last request: the final records are signed, then the sinks take what they hold.
  app.addHook('onClose', async () => {
    await signer?.stop();
    await auditSinks?.close();
    stopPublishing?.();
  });
  await app.register(auditProofRoutes, {
    proofs: createAuditProofs({
      ...services, ...(auditKeys.size ? { auditKeys } : {}), ...(signer ? { checkpointIntervalMs: signing!.intervalMs, signNow: signer.signNow } : {}),
    }),
  });
  await app.register(docsRoutes);
  return app;
}

/** Trusts the nearest `hops` proxies: Fastify takes a count, but its types only a function. */
function hopsTrusted(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}
