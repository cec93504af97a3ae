import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const statusSchema = z.object({ status: z.literal('ok') });

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    schema: { summary: 'Liveness', tags: ['operations'], response: { 200: statusSchema } },
  }, async () => ({ status: 'ok' as const }));

  // Readiness grows checks (store, clusters, policy reload state) as those parts arrive.
  app.get('/readyz', {
    schema: { summary: 'Readiness', tags: ['operations'], response: { 200: statusSchema } },
  }, async () => ({ status: 'ok' as const }));
};
