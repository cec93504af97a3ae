import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CredentialService } from '../../services/issue-credentials.ts';
import { callerOf } from '../../plugins/authentication.ts';
import { emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { sendCredential } from './respond.ts';
import { credentialRequestSchema, credentialResponse } from './schema.ts';

export const credentialRoutes: FastifyPluginAsyncZod<{ credentials: CredentialService }> = async (app, { credentials }) => {
  app.post('/v1/credentials', {
    config: { auth: true },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      summary: 'Vend a Kubernetes credential to a CI job',
      operationId: 'issueCredential',
      description: 'Authenticates the CI identity token, matches it against the policy and answers with a kubeconfig.',
      tags: ['credentials'],
      security: [{ ciToken: [] }],
      body: credentialRequestSchema,
      response: { 201: credentialResponse, ...problemResponses },
    },
  }, async (request, reply) => {
    const { format, clusters, ...ask } = request.body;
    const credential = await credentials.issue(callerOf(request), ask, clusters,
      { requestId: request.id, clientAddress: request.ip });
    return sendCredential(request, reply, format, credential);
  });
};
