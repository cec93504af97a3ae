import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { withoutCredentials } from '../logger.ts';

// One log line a request. A request whose outcome says more (an issuance, a refusal, a failure)
// logs that line as soon as the outcome is known; any other request logs `request completed` once
// its answer is sent. A request's arrival is logged at debug only: every line passes the redaction,
// and Fastify's two lines a request at info cost an issuance more CPU than the line that tells what
// happened.

const outcomeLogged = new WeakSet<FastifyRequest>();

/**
 * What every line of a request carries beside the request id its logger adds. A client that puts a
 * token in the query string gets it cut out of the URL.
 */
const requestFacts = (request: FastifyRequest) => ({ method: request.method, url: withoutCredentials(request.url), remoteAddress: request.ip });

/** Logs the line that tells how `request` ended, in place of its `request completed`; its status set first. */
export function logOutcome(
  request: FastifyRequest,
  reply: FastifyReply,
  level: 'info' | 'error',
  facts: Record<string, unknown>,
  message: string,
): void {
  outcomeLogged.add(request);
  request.log[level]({ ...requestFacts(request), statusCode: reply.statusCode, ...facts, responseTime: reply.elapsedTime }, message);
}

/** Fastify's per-request lines, as above; its other lines (stream and serializer errors) as Fastify writes them. */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug(requestFacts(request), 'request received');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    if (outcomeLogged.has(request)) return;
    request.log.info({ ...requestFacts(request), statusCode: reply.statusCode, responseTime: reply.elapsedTime }, 'request completed');
  }
}
