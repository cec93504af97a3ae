import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CredentialService } from '../../services/issue-credentials.ts';
import { bearerToken, emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { credentialEnvelopeSchema, credentialRequestSchema } from './schema.ts';

export const credentialRoutes: FastifyPluginAsyncZod<{ credentials: CredentialService }> = async (app, { credentials }) => {
  app.post('/v1/credentials', {
    // `curl -X POST` with no body is a normal CI call: it asks for the pipeline's default grant.
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      summary: 'Vend a short-lived Kubernetes credential to a CI job',
      description: 'Authenticates the CI identity token, matches it against the policy and answers with a kubeconfig.',
      tags: ['credentials'],
      security: [{ ciToken: [] }],
      body: credentialRequestSchema,
      response: {
        201: {
          description: 'The credential',
          content: {
            'application/json': { schema: credentialEnvelopeSchema },
            'application/yaml': { schema: z.string().describe('The bare kubeconfig') },
          },
        },
        ...problemResponses,
      },
    },
  }, async (request, reply) => {
    const { format, ...ask } = request.body;
    const issued = await credentials.issue(bearerToken(request.headers.authorization), ask);
    request.log.info(
      { issuanceId: issued.issuanceId, pipeline: issued.pipeline, cluster: issued.cluster, namespace: issued.namespace,
        serviceAccount: issued.serviceAccount, expiresAt: issued.expiresAt },
      'credential issued',
    );
    reply.code(201).header('cache-control', 'no-store');
    if (format === 'kubeconfig' || wantsYaml(request.headers.accept)) {
      return reply.type('application/yaml').send(issued.kubeconfig);
    }
    return reply.send({ ...issued, expiresAt: issued.expiresAt.toISOString() });
  });
};

function wantsYaml(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*(application|text)\/(x-)?yaml\b/i.test(accept);
}
