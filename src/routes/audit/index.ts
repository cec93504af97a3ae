import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditFilter, AuditRecord } from '../../store/ports.ts';
import type { AuditQueries } from '../../services/audit-queries.ts';
import { callerOf } from '../../plugins/authentication.ts';
import { problemResponses } from '../problem-responses.ts';
import { auditQuerySchema, auditRecordSchema, auditRecordView, verificationSchema } from './schema.ts';

const common = { tags: ['audit'], security: [{ ciToken: [] }] };

export const auditRoutes: FastifyPluginAsyncZod<{ audit: AuditQueries }> = async (app, { audit }) => {

  app.get('/v1/audit', {
    config: { auth: true },
    // A page is the store's records, typed and built field by field (auditRecordView), as the
    // NDJSON stream is: written as JSON without a zod pass, which copied every record once more and
    // so brought V8's full collections sooner (BENCHMARKS.md, the ledger's p99).
    serializerCompiler: () => (data) => JSON.stringify(data),
    schema: {
      ...common,
      summary: 'The audit ledger, newest first (operators: auditor or admin)',
      operationId: 'listAudit',
      description: 'Filters combine. With `Accept: application/x-ndjson` the whole filtered ledger streams as one record a line; `cursor` and `limit` are ignored then.',
      querystring: auditQuerySchema,
      response: {
        200: {
          description: 'A page of records, or all of them as NDJSON',
          content: {
            'application/json': { schema: z.object({ items: z.array(auditRecordSchema), nextCursor: z.string().nullable() }) },
            'application/x-ndjson': { schema: z.string().describe('One AuditRecord as JSON per line') },
          },
        },
        ...problemResponses,
      },
    },
  }, async (request, reply) => {
    const { cursor, limit, from, to, ...rest } = request.query;
    const filter: AuditFilter = { ...rest, ...(from ? { from: new Date(from) } : {}), ...(to ? { to: new Date(to) } : {}) };
    const identity = callerOf(request);
    if (/application\/x-ndjson/.test(request.headers.accept ?? '')) {
      const records = audit.stream(identity, filter);
      // A stream bypasses the serialiser; its records were typed by the store.
      const body = Readable.from(ndjson(records)) as unknown as string;
      return reply.type('application/x-ndjson').header('cache-control', 'no-store').send(body);
    }
    const page = await audit.list(identity, filter, { limit, ...(cursor ? { cursor } : {}) });
    return reply.header('cache-control', 'no-store').send({ items: page.items.map(auditRecordView), nextCursor: page.nextCursor });
  });

  app.get('/v1/audit/verify', {
    config: { auth: true },
    schema: { ...common, operationId: 'verifyAudit', summary: 'Walk the hash chain and report the first broken link (operators)', response: { 200: verificationSchema, ...problemResponses } },
  }, async (request) => audit.verify(callerOf(request)));
};

async function* ndjson(records: AsyncIterable<AuditRecord>): AsyncGenerator<string> {
  for await (const record of records) yield `${JSON.stringify(auditRecordView(record))}\n`;
}
