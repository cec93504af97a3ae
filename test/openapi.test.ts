import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openapiDocument } from './helpers/openapi.ts';

describe('openapi.yaml', () => {
  it('when the routes change, then the committed document must be regenerated (npm run openapi)', async () => {
    const committed = await readFile(join(import.meta.dirname, '..', 'openapi.yaml'), 'utf8');
    expect(committed).toBe(await openapiDocument());
  });
});
