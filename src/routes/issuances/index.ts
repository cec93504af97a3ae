import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Problem } from '../../errors.ts';
import { callerOf } from '../../plugins/authentication.ts';
import type { IssuanceQueries } from '../../services/issuance-queries.ts';
import type { RevocationService } from '../../services/revoke.ts';
import type { RotationService } from '../../services/rotate.ts';
import { sendCredential } from '../credentials/respond.ts';
import { credentialResponse } from '../credentials/schema.ts';
import { emptyBodyIsEmptyObject } from '../bearer.ts';
import { problemResponses } from '../problem-responses.ts';
import { issuanceIdSchema, issuanceListQuerySchema, issuanceSchema, issuanceView, revokeRequestSchema, rotateRequestSchema, suspensionSchema, suspensionView } from './schema.ts';

interface Options {
  queries: IssuanceQueries;
  revocations: RevocationService;
  rotations: RotationService;
}

const common = { tags: ['issuances'], security: [{ ciToken: [] }] };
const auth = { auth: true };

export const issuanceRoutes: FastifyPluginAsyncZod<Options> = async (app, { queries, revocations, rotations }) => {
  const context = (request: { id: string; ip: string }) => ({ requestId: request.id, clientAddress: request.ip });

  app.get('/v1/issuances', {
    config: auth,
    schema: {
      ...common, operationId: 'listIssuances', summary: 'List credentials with their state (operators: all; a CI job: its pipeline\'s)',
      querystring: issuanceListQuerySchema,
      response: { 200: z.object({ items: z.array(issuanceSchema), nextCursor: z.string().nullable() }), ...problemResponses },
    },
  }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    const page = await queries.list(callerOf(request), filter, { limit, ...(cursor ? { cursor } : {}) });
    return { items: page.items.map(issuanceView), nextCursor: page.nextCursor };
  });

  app.get('/v1/issuances/:id', {
    config: auth,
    schema: { ...common, operationId: 'getIssuance', summary: 'One credential and its state', params: issuanceIdSchema, response: { 200: issuanceSchema, ...problemResponses } },
  }, async (request) => issuanceView(await queries.get(callerOf(request), request.params.id)));

  app.delete('/v1/issuances/:id', {
    config: auth,
    schema: {
      ...common, operationId: 'revokeIssuance', summary: 'Revoke one credential (operator admin, or the identity it was issued to)',
      description: 'Deletes its anchor Secret and every object made for it: the API server refuses the token at once.',
      params: issuanceIdSchema, response: { 200: issuanceSchema, ...problemResponses },
    },
  }, async (request) => {
    const revoked = await revocations.revoke(callerOf(request), request.params.id, context(request));
    request.log.info({ issuanceId: revoked.id, pipeline: revoked.pipeline }, 'issuance revoked');
    return issuanceView(revoked);
  });

  app.post('/v1/issuances/:id/rotate', {
    config: { auth: true },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      ...common, operationId: 'rotateIssuance', summary: 'Rotate a credential: a new one for the same cluster, namespace and kind; the old one is revoked',
      description: 'For the identity it was issued to, with a fresh CI token. The policy in force decides the new one.',
      params: issuanceIdSchema, body: rotateRequestSchema, response: { 201: credentialResponse, ...problemResponses },
    },
  }, async (request, reply) => {
    const old = request.params.id;
    const credential = await rotations.rotate(callerOf(request), old, context(request));
    request.log.info({ rotated: old }, 'issuance rotated');
    return sendCredential(request, reply, request.body.format, credential);
  });

  app.post('/v1/issuances/revoke', {
    config: auth,
    schema: {
      ...common, operationId: 'revokePipeline',
      summary: 'Kill switch: suspend a pipeline and revoke every active credential of it (operator admin)',
      description: 'The suspension is kept in the store: no replica issues for the pipeline, and no issuance in flight is handed out, until an admin lifts it (DELETE /v1/suspensions/{pipeline}).',
      body: revokeRequestSchema,
      response: { 200: z.object({ suspension: suspensionSchema, revoked: z.array(issuanceSchema) }), ...problemResponses },
    },
  }, async (request) => {
    const { suspension, revoked } = await revocations.revokePipeline(callerOf(request), request.body, context(request));
    request.log.info({ pipeline: request.body.pipeline, count: revoked.length }, 'pipeline suspended and revoked');
    return { suspension: suspensionView(suspension), revoked: revoked.map(issuanceView) };
  });

  app.get('/v1/suspensions', {
    config: auth,
    schema: {
      ...common, operationId: 'listSuspensions', summary: 'Suspended pipelines (operators)',
      response: { 200: z.object({ items: z.array(suspensionSchema) }), ...problemResponses },
    },
  }, async (request) => ({ items: (await revocations.suspensions(callerOf(request))).map(suspensionView) }));

  app.delete('/v1/suspensions/:pipeline', {
    config: auth,
    schema: {
      ...common, operationId: 'liftSuspension', summary: 'Lift a pipeline\'s suspension (operator admin)',
      params: z.object({ pipeline: z.string().min(1).max(63) }),
      querystring: z.strictObject({ cluster: z.string().min(1).max(63).optional().describe('The cluster the suspension names, if it names one') }),
      response: { 200: z.object({ lifted: z.literal(true) }), ...problemResponses },
    },
  }, async (request) => {
    const filter = { pipeline: request.params.pipeline, ...(request.query.cluster ? { cluster: request.query.cluster } : {}) };
    if (!(await revocations.resume(callerOf(request), filter, context(request)))) {
      throw new Problem('suspension_not_found', `pipeline "${filter.pipeline}" is not suspended${filter.cluster ? ` in "${filter.cluster}"` : ''}`);
    }
    request.log.info(filter, 'suspension lifted');
    return { lifted: true as const };
  });
};
