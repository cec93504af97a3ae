import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import pkg from '../../package.json' with { type: 'json' };

type Document = ReturnType<typeof jsonSchemaTransformObject>;

// The OpenAPI document is generated from the routes' zod schemas; `npm run docs` writes it out.
async function openapi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'kubevend', version: pkg.version, description: pkg.description,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'The kubevend service that serves this document' }],
      components: {
        securitySchemes: {
          ciToken: {
            type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
            description: 'The CI job\'s identity token, or an operator\'s token from an issuer of the policy',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => withoutUnusedSchemas(jsonSchemaTransformObject(document)),
  });
}

/**
 * Every schema with an id is emitted in its input and its output form; keep only those a path
 * refers to, directly or through another schema.
 */
function withoutUnusedSchemas(transformed: Document): Document {
  const document = transformed as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const schemas = document.components?.schemas ?? {};
  const refsIn = (value: unknown) => [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  const used = new Set<string>();
  const queue = refsIn(document.paths);
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (used.has(name)) continue;
    used.add(name);
    queue.push(...refsIn(schemas[name]));
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } } as Document;
}

export const openapiPlugin = fp(openapi, { name: 'openapi' });
