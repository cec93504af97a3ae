// Writes the generated documents: `npm run docs`. Tests fail when the committed ones are stale.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientSchema } from './docs/client-schema.ts';
import { chartReadme, chartReadmeText } from './docs/helm-values.ts';
import { openapiDocument } from './docs/openapi.ts';
import { policyReference } from './docs/policy-reference.ts';

const root = join(import.meta.dirname, '..');
await writeFile(join(root, 'openapi.yaml'), await openapiDocument());
await writeFile(join(root, 'docs', 'policy-reference.md'), policyReference());
await writeFile(join(root, 'packages', 'client', 'src', 'schema.ts'), await clientSchema());
await writeFile(chartReadme, chartReadmeText());
console.log('wrote openapi.yaml, docs/policy-reference.md, packages/client/src/schema.ts and the values table of helm/kubevend/README.md');
