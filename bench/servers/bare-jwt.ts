// The service-bound baseline: a bare Fastify route that verifies the CI token as kubevend does
// (jose, the same key and options) and answers. Environment: KUBEVEND_PORT (as kubevend), ISSUER, PUBLIC_KEY_FILE.
import Fastify from 'fastify';
import { jwtVerify } from 'jose';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { reportUsage } from './report-usage.ts';

const key = createPublicKey(readFileSync(process.env.PUBLIC_KEY_FILE!));
const options = { issuer: process.env.ISSUER!, audience: ['kubevend'], algorithms: ['RS256'], clockTolerance: 30, requiredClaims: ['exp', 'aud'] };
const app = Fastify({ logger: false });
app.post('/v1/credentials', async (request, reply) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!token) return reply.code(401).send({ code: 'token_missing' });
  const { payload } = await jwtVerify(token, key, options);
  return reply.code(201).send({ subject: payload.sub });
});
app.get('/readyz', async () => ({ status: 'ok' }));
reportUsage();
process.once('SIGTERM', async () => {
  await app.close();
  process.exit(0);
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.KUBEVEND_PORT) });
