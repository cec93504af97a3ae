import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../errors.ts';
import { holdsNul } from '../input.ts';

// No NUL anywhere in what a caller sends: nothing kubevend names holds one, and PostgreSQL cannot
// store one in text, so letting it through turned bad input into a 503 on one engine and not the
// other.

const nul = () => new Problem('invalid_request', 'the request holds a NUL character');

async function inputGuards(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('\u0000') || /%00/.test(request.url)) throw nul();
  });
  app.addHook('preValidation', async (request) => {
    if (holdsNul(request.body)) throw nul();
  });
}

export const inputGuardsPlugin = fp(inputGuards, { name: 'input-guards' });
