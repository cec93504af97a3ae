import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { withoutCredentials } from '../logger.ts';

// One log line a request. A request whose outcome says more (an issuance, a refusal, a failure)
// logs that line, and any other request `request completed`, once its answer has left: the caller
// never waits for the line, and the response time it gives is the whole of it. A request's arrival
// is logged at debug only: every line passes the redaction, and Fastify's two lines a request at
// info cost an issuance more CPU than the line that tells what happened.

interface Outcome {
  level: 'info' | 'error';
  facts: Record<string, unknown>;
  message: string;
}

/** The outcome of each request that has one, until its line is written; then null. */
const outcomes = new WeakMap<FastifyRequest, Outcome | null>();

/**
 * What every line of a request carries beside the request id its logger adds. A client that puts a
 * token in the query string gets it cut out of the URL.
 */
const requestFacts = (request: FastifyRequest) => ({ method: request.method, url: withoutCredentials(request.url), remoteAddress: request.ip });

/**
 * Sets the line that tells how `request` ended, in place of its `request completed`; its status set
 * first. The line is written once the answer has been sent, or, when it never is (the client went
 * away before its last byte was handed to the kernel), once the response is closed, then with
 * `answered: false`: a credential issued that the caller never received is still told.
 */
export function logOutcome(
  request: FastifyRequest,
  reply: FastifyReply,
  level: 'info' | 'error',
  facts: Record<string, unknown>,
  message: string,
): void {
  outcomes.set(request, { level, facts, message });
  if (reply.raw.closed) return writeOutcome(request, reply, false);
  // 'finish' is when the last byte was handed to the kernel. Node closes a finished response on
  // the next tick, before Fastify's async onResponse hooks let requestCompleted write the line:
  // only a response closed unfinished was not answered.
  let finished = false;
  reply.raw.once('finish', () => (finished = true));
  reply.raw.once('close', () => {
    if (!finished) writeOutcome(request, reply, false);
  });
}

function writeOutcome(request: FastifyRequest, reply: FastifyReply, answered: boolean): void {
  const outcome = outcomes.get(request);
  if (!outcome) return;
  outcomes.set(request, null);
  request.log[outcome.level](
    { ...requestFacts(request), statusCode: reply.statusCode, ...outcome.facts, ...(answered ? {} : { answered: false }), responseTime: reply.elapsedTime },
    outcome.message,
  );
}

/** Fastify's per-request lines, as above; its other lines (stream and serializer errors) as Fastify writes them. */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug(requestFacts(request), 'request received');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Called when the answer has been sent, or failed to be (then Fastify's own line follows).
    if (!error && !outcomes.has(request)) outcomes.set(request, { level: 'info', facts: {}, message: 'request completed' });
    writeOutcome(request, reply, !error);
    if (error) super.requestCompleted(error, request, reply);
  }
}
