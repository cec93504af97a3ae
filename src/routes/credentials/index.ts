import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { renderEnv, renderExecCredential, renderKubeconfig, type IssuedWithEndpoint } from '../../services/credential-formats.ts';
import type { CredentialService } from '../../services/issue-credentials.ts';
import { bearerToken, emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { credentialEnvelopeSchema, credentialRequestSchema } from './schema.ts';

export const credentialRoutes: FastifyPluginAsyncZod<{ credentials: CredentialService }> = async (app, { credentials }) => {
  app.post('/v1/credentials', {
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      summary: 'Vend a Kubernetes credential to a CI job',
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
            'text/plain': { schema: z.string().describe('format env: NAME=value lines') },
          },
        },
        ...problemResponses,
      },
    },
  }, async (request, reply) => {
    const { format, clusters, ...ask } = request.body;
    const { pipeline, issued } = await credentials.issue(bearerToken(request.headers.authorization), ask, clusters,
      { requestId: request.id, clientAddress: request.ip });
    request.log.info({ issuances: issued.map((i) => i.issuanceId), pipeline, clusters: issued.map((i) => i.cluster) }, 'credential issued');
    reply.code(201).header('cache-control', 'no-store');
    if (format === 'kubeconfig' || (format === 'json' && wantsYaml(request.headers.accept))) {
      return reply.type('application/yaml').send(renderKubeconfig(issued));
    }
    if (format === 'exec-credential') return reply.type('application/json').send(renderExecCredential(issued[0]!));
    if (format === 'env') return reply.type('text/plain').send(renderEnv(issued));
    const kind = ask.kind ?? 'short-lived';
    const described = issued.map((i) => describe(i, kind));
    return reply.send({ ...described[0]!, pipeline, kubeconfig: renderKubeconfig(issued), issuances: described });
  });
};

function describe(i: IssuedWithEndpoint, kind: 'short-lived' | 'durable') {
  return {
    issuanceId: i.issuanceId, cluster: i.cluster, namespace: i.namespace, serviceAccount: i.serviceAccount,
    kind, expiresAt: i.expiresAt.toISOString(), warnings: i.warnings,
  };
}

function wantsYaml(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*(application|text)\/(x-)?yaml\b/i.test(accept);
}
