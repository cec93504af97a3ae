import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';

// packages/client/src/schema.ts: the client package's types, generated from the committed openapi.yaml.
export async function clientSchema(): Promise<string> {
  const document = await readFile(join(import.meta.dirname, '..', '..', 'openapi.yaml'), 'utf8');
  // A field with a default may be left out by a caller.
  const ast = await openapiTS(document, { rootTypes: false, alphabetize: false, defaultNonNullable: false });
  return `// Generated from openapi.yaml by \`npm run docs\`; a test fails when it is stale. Do not edit.\n${astToString(ast)}`;
}
