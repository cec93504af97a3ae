import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Metrics } from '../../metrics.ts';
import { problemResponses } from '../problem-responses.ts';

export const metricsRoutes: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', operationId: 'metrics', tags: ['operations'], security: [],
    response: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: z.string() } } }, ...problemResponses } } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
