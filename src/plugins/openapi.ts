import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import pkg from '../../package.json' with { type: 'json' };

// The OpenAPI document is generated from the routes' zod schemas; `npm run openapi` writes it out.
async function openapi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'kubevend', version: pkg.version, description: pkg.description },
      components: {
        securitySchemes: {
          ciToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The CI job\'s identity token' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
}

export const openapiPlugin = fp(openapi, { name: 'openapi' });
