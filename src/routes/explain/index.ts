import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ExplainService } from '../../services/explain.ts';
import { callerOf } from '../../plugins/authentication.ts';
import { emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { explainRequestSchema, explanationSchema } from './schema.ts';

export const explainRoutes: FastifyPluginAsyncZod<{ explain: ExplainService }> = async (app, { explain }) => {
  app.post('/v1/explain', {
    config: { auth: true },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      summary: 'Say what a credential request would get, and why each pipeline did or did not match',
      operationId: 'explainCredential',
      description: 'Issues nothing and does not spend the token. Operators may pass `identity` to explain other claims.',
      tags: ['credentials'],
      security: [{ ciToken: [] }],
      body: explainRequestSchema,
      response: { 200: explanationSchema, ...problemResponses },
    },
  }, async (request) => {
    const { identity, ...ask } = request.body;
    const result = await explain.explain(callerOf(request), ask, identity);
    return {
      decision: result.decision ? ('granted' as const) : ('denied' as const),
      identity: result.identity,
      pipelines: result.pipelines,
      ...(result.decision ? { grant: result.decision } : {}),
      ...(result.denial ? { denial: { code: result.denial.code, detail: result.denial.message } } : {}),
    };
  });
};
