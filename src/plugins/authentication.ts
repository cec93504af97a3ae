import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../errors.ts';
import { bearerToken } from '../routes/bearer.ts';
import type { Authenticator, CallerIdentity } from '../services/authenticate.ts';
import type { AuthFailureLimit, RefusalTally } from '../services/refusals.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs a caller: its bearer token is verified before the body is even read. */
    auth?: boolean;
  }
  interface FastifyRequest {
    caller: CallerIdentity | null;
  }
}

/**
 * Authentication, once, for every route that needs it: the address's failure budget is asked
 * before any signature work, the token is verified (not spent: issuing routes spend it, checking
 * its expiry again), and a refusal is counted per address rather than written to the ledger one
 * by one.
 */
async function authentication(app: FastifyInstance, { authenticator, limit, tally }: { authenticator: Authenticator; limit: AuthFailureLimit; tally: RefusalTally }) {
  app.decorateRequest('caller', null);
  const refused = (request: FastifyRequest, err: unknown) => {
    if (err instanceof Problem && err.status < 500) {
      if (err.status === 401) limit.fail(request.ip);
      tally.count(request.ip, err);
    }
  };
  // The address's budget before anything else, the body included: it costs nothing to ask.
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config.auth) return;
    try {
      limit.check(request.ip);
    } catch (err) {
      refused(request, err);
      throw err;
    }
  });
  // The token once the body is in: a token verified earlier could expire while a client holds the
  // body back, and a request whose connection is reset mid-verification would wait on a body
  // stream that is gone.
  app.addHook('preValidation', async (request) => {
    if (!request.routeOptions.config.auth) return;
    try {
      request.caller = await authenticator.verify(bearerToken(request.headers.authorization));
    } catch (err) {
      refused(request, err);
      throw err;
    }
  });
}

export const authenticationPlugin = fp(authentication, { name: 'authentication' });

/** The verified caller of a route that has `config.auth`. */
export function callerOf(request: FastifyRequest): CallerIdentity {
  if (!request.caller) throw new Problem('internal_error', 'a route that needs a caller has none');
  return request.caller;
}
