import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkpointSchema } from '../../ledger/checkpoint.ts';
import { receiptSchema } from '../../ledger/receipt.ts';
import { callerOf } from '../../plugins/authentication.ts';
import type { AuditProofs } from '../../services/audit-proofs.ts';
import { problemResponses } from '../problem-responses.ts';
import { auditRecordView, verificationSchema } from './schema.ts';

const signedCheckpoint = checkpointSchema.meta({ id: 'AuditCheckpoint' });

/** Signed checkpoints, their keys and receipts (docs/audit-proofs.md). */
export const auditProofRoutes: FastifyPluginAsyncZod<{ proofs: AuditProofs }> = async (app, { proofs }) => {
  app.get('/v1/audit/checkpoint', {
    schema: {
      tags: ['audit'], security: [], operationId: 'getAuditCheckpoint',
      summary: 'The latest signed checkpoint of the audit ledger (public: a size and hashes); save it to hold the ledger to it later',
      response: { 200: signedCheckpoint, ...problemResponses },
    },
  }, async (_request, reply) => reply.header('cache-control', 'no-store').send(await proofs.latest()));

  app.get('/v1/audit/keys', {
    schema: {
      tags: ['audit'], security: [], operationId: 'listAuditKeys', summary: 'The public keys that verify checkpoints, by key id (earlier keys included)',
      response: { 200: z.object({ keys: z.array(z.object({ keyId: z.string(), publicKey: z.string().describe('SPKI PEM') })) }), ...problemResponses },
    },
  }, async () => ({ keys: proofs.keys() }));

  app.post('/v1/audit/checkpoint/verify', {
    config: { auth: true },
    schema: {
      tags: ['audit'], security: [{ ciToken: [] }], operationId: 'verifyAuditCheckpoint',
      summary: 'Prove that the ledger still extends a checkpoint saved earlier (operators)',
      description: 'The checkpoint must be signed by a known key, and the chain, intact, must pass through its size and head hash. A ledger rewritten at or before that size, or cut below it, fails.',
      body: checkpointSchema, response: { 200: verificationSchema, ...problemResponses },
    },
  }, async (request) => proofs.verify(callerOf(request), request.body));

  app.get('/v1/audit/receipts/:id', {
    schema: {
      tags: ['audit'], security: [], operationId: 'getAuditReceipt',
      summary: 'The receipt of one audit record: the record, the signed checkpoint that holds it, and the Merkle inclusion proof',
      description: 'Given for the record\'s receipt key, which only the answer to its issuance carries: a record\'s id and hash, public or chained, open nothing. A record no checkpoint covers yet gets one signed at once; `409 receipt_pending` only when that fails.',
      params: z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
      querystring: z.strictObject({ key: z.string().regex(/^[\w-]{43}$/).describe('The record\'s receipt key, from its issuance\'s answer') }),
      response: { 200: receiptSchema, ...problemResponses },
    },
  }, async (request, reply) => reply.header('cache-control', 'no-store')
    .send(await proofs.receipt(request.params.id, request.query.key, auditRecordView)));
};
