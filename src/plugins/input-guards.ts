import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../errors.ts';

// No NUL anywhere in what a caller sends: nothing kubevend names holds one, and PostgreSQL cannot
// store one in text, so letting it through turned bad input into a 503 on one engine and not the
// other.

const nul = () => new Problem('invalid_request', 'the request holds a NUL character');

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}

async function inputGuards(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('\u0000') || /%00/.test(request.url)) throw nul();
  });
  app.addHook('preValidation', async (request) => {
    if (holdsNul(request.body)) throw nul();
  });
}

export const inputGuardsPlugin = fp(inputGuards, { name: 'input-guards' });
