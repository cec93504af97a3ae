import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Authenticator } from '../../services/authenticate.ts';
import type { IssuanceQueries } from '../../services/issuance-queries.ts';
import type { RevocationService } from '../../services/revoke.ts';
import type { RotationService } from '../../services/rotate.ts';
import { sendCredential } from '../credentials/respond.ts';
import { credentialResponse } from '../credentials/schema.ts';
import { bearerToken, emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { issuanceIdSchema, issuanceListQuerySchema, issuanceSchema, issuanceView, revokeRequestSchema, rotateRequestSchema } from './schema.ts';

interface Options {
  authenticator: Authenticator;
  queries: IssuanceQueries;
  revocations: RevocationService;
  rotations: RotationService;
}

const common = { tags: ['issuances'], security: [{ ciToken: [] }] };

export const issuanceRoutes: FastifyPluginAsyncZod<Options> = async (app, { authenticator, queries, revocations, rotations }) => {
  const caller = (authorization: string | undefined) => authenticator.verify(bearerToken(authorization));
  const context = (request: { id: string; ip: string }) => ({ requestId: request.id, clientAddress: request.ip });

  app.get('/v1/issuances', {
    schema: {
      ...common, operationId: 'listIssuances', summary: 'List credentials with their state (operators: all; a CI job: its pipeline\'s)',
      querystring: issuanceListQuerySchema,
      response: { 200: z.object({ items: z.array(issuanceSchema), nextCursor: z.string().nullable() }), ...problemResponses },
    },
  }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    const page = await queries.list(await caller(request.headers.authorization), filter, { limit, ...(cursor ? { cursor } : {}) });
    return { items: page.items.map(issuanceView), nextCursor: page.nextCursor };
  });

  app.get('/v1/issuances/:id', {
    schema: { ...common, operationId: 'getIssuance', summary: 'One credential and its state', params: issuanceIdSchema, response: { 200: issuanceSchema, ...problemResponses } },
  }, async (request) => issuanceView(await queries.get(await caller(request.headers.authorization), request.params.id)));

  app.delete('/v1/issuances/:id', {
    schema: {
      ...common, operationId: 'revokeIssuance', summary: 'Revoke one credential (operator admin, or the pipeline that holds it)',
      description: 'Deletes its anchor Secret and every object made for it: the API server refuses the token at once.',
      params: issuanceIdSchema, response: { 200: issuanceSchema, ...problemResponses },
    },
  }, async (request) => {
    const revoked = await revocations.revoke(await caller(request.headers.authorization), request.params.id, context(request));
    request.log.info({ issuanceId: revoked.id, pipeline: revoked.pipeline }, 'issuance revoked');
    return issuanceView(revoked);
  });

  app.post('/v1/issuances/:id/rotate', {
    config: { shed: true },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      ...common, operationId: 'rotateIssuance', summary: 'Rotate a credential: a new one for the same cluster, namespace and kind; the old one is revoked',
      description: 'For the pipeline that holds it, with a fresh CI token. The policy in force decides the new one.',
      params: issuanceIdSchema, body: rotateRequestSchema, response: { 201: credentialResponse, ...problemResponses },
    },
  }, async (request, reply) => {
    const old = request.params.id;
    const credential = await rotations.rotate(bearerToken(request.headers.authorization), old, context(request));
    request.log.info({ rotated: old }, 'issuance rotated');
    return sendCredential(request, reply, request.body.format, credential);
  });

  app.post('/v1/issuances/revoke', {
    schema: {
      ...common, operationId: 'revokePipeline', summary: 'Kill switch: revoke every active credential of a pipeline (operator admin)',
      body: revokeRequestSchema,
      response: { 200: z.object({ revoked: z.array(issuanceSchema) }), ...problemResponses },
    },
  }, async (request) => {
    const revoked = await revocations.revokePipeline(await caller(request.headers.authorization), request.body, context(request));
    request.log.info({ pipeline: request.body.pipeline, count: revoked.length }, 'pipeline revoked');
    return { revoked: revoked.map(issuanceView) };
  });
};
