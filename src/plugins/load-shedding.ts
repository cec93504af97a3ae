import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../errors.ts';
import { sendProblem } from './problems.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts against the in-flight limit: the routes that call Kubernetes. */
    shed?: boolean;
  }
}

/**
 * Load shedding: at most `maxInFlight` issuing requests at once per replica; beyond that a request
 * answers 503 with Retry-After at once instead of queueing behind the API server. Probes, metrics
 * and reads are never shed.
 */
async function loadShedding(app: FastifyInstance, { maxInFlight }: { maxInFlight: number }): Promise<void> {
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  // Counted once the body is in and the caller verified: a client that sends headers and holds the
  // body back holds no slot.
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.routeOptions.config.shed) return;
    if (inFlight >= maxInFlight) {
      return sendProblem(request, reply, new Problem('overloaded', `${maxInFlight} credentials are being issued already`, { retryAfter: 1 }));
    }
    inFlight++;
    counted.add(request);
  });
  app.addHook('onResponse', async (request) => {
    if (counted.delete(request)) inFlight--;
  });
  app.addHook('onRequestAbort', async (request) => {
    if (counted.delete(request)) inFlight--;
  });
}

export const loadSheddingPlugin = fp(loadShedding, { name: 'load-shedding' });
