import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Problem, problemBody, problemOf, StoreFailure, type ProblemCode } from '../errors.ts';
import { withoutCredentials } from '../logger.ts';
import { logOutcome } from './request-log.ts';

// Every error leaves as RFC 9457 problem+json with a stable code. Details never echo request
// content: a body may hold a token pasted in the wrong place.
async function problems(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(request, reply, toProblem(err)));
  const allowedMethods = routeMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url.split('?')[0]!);
    if (allowed.length === 0) return sendProblem(request, reply, new Problem('route_not_found', 'no route has this path'));
    reply.header('allow', allowed.join(', '));
    return sendProblem(request, reply, new Problem('method_not_allowed', `this path answers ${allowed.join(', ')} only`));
  });
  // Node answers an HTTP/1.1 request without a Host with an empty 400 of its own (the server is
  // made with `requireHostHeader: false`), so the refusal is made here.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.headers.host !== undefined || request.raw.httpVersion !== '1.1') return done();
    reply.header('connection', 'close');
    sendProblem(request, reply, new Problem('bad_request', 'an HTTP/1.1 request must have a Host header'));
  });
}

/**
 * The methods that the routes matching a path answer, so that a wrong method is told apart from a
 * path that does not exist. Fastify answers both with a 404; kubevend's routes have only `:param`
 * segments and trailing wildcards, which the patterns below cover.
 */
function routeMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const source = route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+').replace(/\*/g, '.*');
    routes.push({ pattern: new RegExp(`^${source}$`), methods: [route.method].flat() });
  });
  return (path) => [...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods))];
}

/** Fastify's refusals of a URL before any route sees it (`frameworkErrors`). */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = err.code === 'FST_ERR_BAD_URL' ? new Problem('bad_request', 'the URL is not valid percent-encoding')
    : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new Problem('url_too_long', 'a path segment of the URL is too long')
      : toProblem(err);
  // Fastify's hooks do not run for these requests, and so neither does the one that sets the id.
  reply.header('x-request-id', request.id);
  sendProblem(request, reply, problem);
}

/**
 * Node's HTTP parser refuses what it cannot read (oversized headers, invalid characters, bad chunked
 * encoding) and its timeouts drop slow clients; both before Fastify has a request, so the problem is
 * written on the socket as a whole response. The connection cannot be reused: the parser has lost
 * its place in the stream.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return void socket.destroy();
  const problem = err.code === 'HPE_HEADER_OVERFLOW' ? new Problem('headers_too_large', 'the request headers exceed the size limit')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new Problem('request_timeout', 'the request was not received in time')
      : new Problem('bad_request', 'the request is not well-formed HTTP/1.1');
  const { id, headers, body } = withoutRequest(problem);
  // The refusal may follow an answer whose head is already on the wire (a pipelined request); a
  // second head there would be read as part of the first answer's body.
  const answering = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || answering?.headersSent) {
    socket.destroy();
  } else {
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${head}\r\n${body}`, () => socket.destroy());
  }
  // Node's error code only: the error also holds the raw bytes that could not be parsed.
  this.log.info(
    { reqId: id, remoteAddress: socket.remoteAddress, statusCode: problem.status, code: problem.code, detail: problem.message, parserCode: err.code },
    'request refused',
  );
}

/** Node answers an `Expect` other than `100-continue` with an empty 417 of its own unless told otherwise. */
export function checkExpectationHandler(this: FastifyInstance, request: IncomingMessage, response: ServerResponse): void {
  const problem = new Problem('expectation_failed', 'only Expect: 100-continue is supported');
  const { id, headers, body } = withoutRequest(problem);
  response.writeHead(problem.status, headers).end(body);
  this.log.info({ reqId: id, method: request.method, remoteAddress: request.socket.remoteAddress, statusCode: problem.status, code: problem.code, detail: problem.message }, 'request refused');
}

/** A problem answered outside Fastify, with an id of its own and the connection closed after it. */
function withoutRequest(problem: Problem): { id: string; headers: Record<string, string>; body: string } {
  const id = randomUUID();
  const body = JSON.stringify(problemBody(problem, `urn:kubevend:request:${id}`));
  return {
    id, body,
    headers: {
      'content-type': 'application/problem+json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store', 'x-request-id': id, connection: 'close',
    },
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  reply.code(problem.status);
  if (problem.kind === 'denial') refusals.set(request, problem.code);
  const log = { code: problem.code, detail: problem.message };
  if (problem.status >= 500) logOutcome(request, reply, 'error', problem.cause === undefined ? log : { ...log, cause: causeFacts(problem) }, 'request failed');
  else logOutcome(request, reply, 'info', log, 'request refused');
  if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter));
  return reply
    .type('application/problem+json')
    .header('cache-control', 'no-store')
    .send(problemBody(problem, `urn:kubevend:request:${request.id}`));
}

/** The code of each request answered with a denial, for the metrics' count of refusals. */
const refusals = new WeakMap<FastifyRequest, ProblemCode>();

/** The problem code a request was refused with; undefined when it was not refused. */
export const refusalOf = (request: FastifyRequest): ProblemCode | undefined => refusals.get(request);

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
  if (err instanceof Problem || (err as unknown) instanceof StoreFailure) return problemOf(err);
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
  return problemOf(err);
}

export const problemsPlugin = fp(problems, { name: 'problems' });
