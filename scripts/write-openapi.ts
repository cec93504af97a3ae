// Writes openapi.yaml from the app's zod schemas: `npm run openapi`. A test fails when the committed
// file differs from what the app generates.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openapiDocument } from '../test/helpers/openapi.ts';

const file = join(import.meta.dirname, '..', 'openapi.yaml');
await writeFile(file, await openapiDocument());
console.log(`wrote ${file}`);
