import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Problem, problemBody, type ProblemCode } from '../errors.ts';
import { withoutCredentials } from '../logger.ts';
import { StoreFailure } from '../store/failure.ts';
import { logOutcome } from './request-log.ts';

// Every error leaves as RFC 9457 problem+json with a stable code. Details never echo request
// content: a body may hold a token pasted in the wrong place.
async function problems(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(request, reply, toProblem(err)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new Problem('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  reply.code(problem.status);
  const log = { code: problem.code, detail: problem.message };
  if (problem.status >= 500) logOutcome(request, reply, 'error', problem.cause === undefined ? log : { ...log, cause: causeFacts(problem) }, 'request failed');
  else logOutcome(request, reply, 'info', log, 'request refused');
  if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter));
  return reply
    .type('application/problem+json')
    .header('cache-control', 'no-store')
    .send(problemBody(problem, `urn:kubevend:request:${request.id}`));
}

/**
 * What an operator needs of a failure's cause: its kind, code and message, and for a fault of
 * kubevend's own its stack. Never its other fields (an API exception holds the raw response body),
 * and anything shaped like a bearer token or a JWT is cut out of the text.
 */
function causeFacts(problem: Problem): Record<string, string> {
  const cause = problem.cause;
  if (!(cause instanceof Error)) return { type: typeof cause };
  const code = (cause as { code?: unknown }).code;
  return {
    type: cause.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: withoutCredentials(cause.message),
    ...(problem.code === 'internal_error' && cause.stack ? { stack: withoutCredentials(cause.stack) } : {}),
  };
}

const fastifyCodes: Record<string, [ProblemCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'send the body as application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['body_too_large', 'the request body exceeds the size limit'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed_body', 'the body is empty although its content type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed_body', 'the body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['malformed_body', 'the Content-Length does not match the body'],
};

function toProblem(err: FastifyError): Problem {
  if (err instanceof Problem) return err;
  if ((err as unknown) instanceof StoreFailure) return new Problem('store_unavailable', 'the store could not answer; try again', { cause: err });
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((v) => ({ path: v.instancePath || '/', message: v.message ?? 'invalid' }));
    return new Problem('invalid_request', `the ${err.validationContext ?? 'request'} does not match its schema`, { errors });
  }
  const known = err.code ? fastifyCodes[err.code] : undefined;
  if (known) return new Problem(known[0], known[1]);
  if (err instanceof SyntaxError || (err.statusCode === 400 && err.code === undefined)) {
    return new Problem('malformed_body', 'the body is not valid JSON');
  }
  if (err.statusCode === 405) return new Problem('method_not_allowed', 'method not allowed');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new Problem('invalid_request', 'the request is not valid');
  }
  return new Problem('internal_error', 'kubevend failed to handle the request', { cause: err });
}

export const problemsPlugin = fp(problems, { name: 'problems' });
