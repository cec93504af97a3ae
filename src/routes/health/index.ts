import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReadinessService } from '../../services/readiness.ts';
import { problemResponses } from '../problem-responses.ts';

const check = z.object({ ok: z.boolean(), detail: z.string().optional() });

const readinessSchema = z.object({
  status: z.enum(['ok', 'degraded', 'unavailable'])
    .describe('unavailable (503): the store does not answer, nothing can be issued; degraded: some clusters do not answer, or the checkpoint signer refuses'),
  checks: z.object({
    policy: z.object({
      version: z.string().describe('sha256 prefix of the policy text in force'),
      loadedAt: z.iso.datetime(),
      reloadError: z.object({ message: z.string(), at: z.iso.datetime() }).optional()
        .describe('The newest file on disk was refused; the policy above still serves'),
    }),
    store: check,
    clusters: z.record(z.string(), check).describe('Each cluster\'s API server version, or why it does not answer'),
    auditSigning: check.optional().describe('With signed checkpoints: not ok while the signer refuses a ledger that does not extend what it signed'),
  }),
}).meta({ id: 'Readiness' });

export const healthRoutes: FastifyPluginAsyncZod<{ readiness: ReadinessService }> = async (app, { readiness }) => {
  app.get('/healthz', {
    schema: {
      summary: 'Liveness', operationId: 'liveness', tags: ['operations'], security: [],
      response: { 200: z.object({ status: z.literal('ok') }), ...problemResponses },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      summary: 'Readiness, with details for operators', operationId: 'readiness', tags: ['operations'], security: [],
      response: { 200: readinessSchema, 503: readinessSchema, '4XX': problemResponses['4XX'] },
    },
  }, async (_request, reply) => {
    const r = await readiness.check();
    const iso = (d: Date) => d.toISOString();
    const policy = { version: r.policy.version, loadedAt: iso(r.policy.loadedAt),
      ...(r.policy.reloadError ? { reloadError: { message: r.policy.reloadError.message, at: iso(r.policy.reloadError.at) } } : {}) };
    return reply.code(r.status === 'unavailable' ? 503 : 200).send({ status: r.status, checks: { policy, store: r.store, clusters: r.clusters, ...(r.auditSigning ? { auditSigning: r.auditSigning } : {}) } });
  });
};
