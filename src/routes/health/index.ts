import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PolicySource } from '../../services/ports.ts';

const readinessSchema = z.object({
  status: z.literal('ok'),
  checks: z.object({
    policy: z.object({
      version: z.string().describe('sha256 prefix of the policy text in force'),
      loadedAt: z.iso.datetime(),
      reloadError: z.object({ message: z.string(), at: z.iso.datetime() }).optional()
        .describe('The newest file on disk was refused; the policy above still serves'),
    }),
  }),
}).meta({ id: 'Readiness' });

export const healthRoutes: FastifyPluginAsyncZod<{ policy: PolicySource }> = async (app, { policy }) => {
  app.get('/healthz', {
    schema: { summary: 'Liveness', tags: ['operations'], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { summary: 'Readiness, with details for operators', tags: ['operations'], response: { 200: readinessSchema } },
  }, async () => {
    const { version, loadedAt, reloadError } = policy.status();
    return {
      status: 'ok' as const,
      checks: {
        policy: {
          version,
          loadedAt: loadedAt.toISOString(),
          ...(reloadError ? { reloadError: { message: reloadError.message, at: reloadError.at.toISOString() } } : {}),
        },
      },
    };
  });
};
