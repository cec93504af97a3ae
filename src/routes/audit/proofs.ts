import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkpointSchema } from '../../ledger/checkpoint.ts';
import { receiptSchema } from '../../ledger/receipt.ts';
import { callerOf } from '../../plugins/authentication.ts';
import type { AuditProofs } from '../../services/audit-proofs.ts';
import { problemResponses } from '../problem-responses.ts';
import { auditRecordView, verificationSchema } from './schema.ts';

const signedCheckpoint = checkpointSchema.meta({ id: 'AuditCheckpoint' });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

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
      description: 'Given to whoever knows the record\'s hash (an issuance\'s answer carries both). A record no checkpoint covers yet gets one signed at once; `409 receipt_pending` only when that fails.',
      params: z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
      querystring: z.strictObject({ hash: sha256Hex.describe('The record\'s chain hash') }),
      response: { 200: receiptSchema, ...problemResponses },
    },
  }, async (request, reply) => reply.header('cache-control', 'no-store')
    .send(await proofs.receipt(request.params.id, request.query.hash, auditRecordView)));
};
