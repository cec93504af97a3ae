import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServedKubevend, type ServedKubevend } from './helpers/served.ts';

// What the real server answers for each `format`, held against what openapi.yaml (and so the typed
// client generated from it) says it answers: the document and the behaviour cannot drift apart.
const document = parse(await readFile(join(import.meta.dirname, '..', 'openapi.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi');
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The document's schema of a 201 answer of `path` in `mediaType`, compiled; undefined when it names none. */
function documented(path: string, mediaType: string) {
  if (!document.paths[path].post.responses['201'].content[mediaType]) return undefined;
  return ajv.compile({ $ref: `openapi#/${pointer('paths', path, 'post', 'responses', '201', 'content', mediaType, 'schema')}` });
}

describe('POST /v1/credentials and rotate: every format answers what openapi.yaml says', () => {
  let kv: ServedKubevend;
  beforeAll(async () => {
    kv = await startServedKubevend('openapi-answers');
  });
  afterAll(async () => kv?.close());

  async function ask(url: string, body: object, headers: Record<string, string> = {}) {
    const res = await fetch(`${kv.url}${url}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { authorization: `Bearer ${await kv.ciToken()}`, 'content-type': 'application/json', ...headers },
    });
    const mediaType = res.headers.get('content-type')!.split(';')[0]!;
    const text = await res.text();
    expect(res.status, text).toBe(201);
    return { mediaType, text, value: mediaType === 'application/json' ? JSON.parse(text) : text };
  }

  /** Checks the answer against the document's schema for its media type; returns the value. */
  function conforms(path: string, answer: { mediaType: string; value: unknown }) {
    const validate = documented(path, answer.mediaType);
    expect(validate, `openapi.yaml names no ${answer.mediaType} answer of ${path}`).toBeDefined();
    expect(validate!(answer.value), JSON.stringify(validate!.errors)).toBe(true);
    return answer.value as Record<string, unknown>;
  }

  const cases: [string, object, Record<string, string>, string][] = [
    ['json', { format: 'json' }, {}, 'application/json'],
    ['no format', {}, {}, 'application/json'],
    ['json with Accept: application/yaml', {}, { accept: 'application/yaml' }, 'application/yaml'],
    ['kubeconfig', { format: 'kubeconfig' }, {}, 'application/yaml'],
    ['exec-credential', { format: 'exec-credential' }, {}, 'application/json'],
    ['env', { format: 'env' }, {}, 'text/plain'],
  ];

  it.each(cases)('when a job asks for %s, then the answer has the documented media type and fits its schema', async (_name, body, headers, mediaType) => {
    const answer = await ask('/v1/credentials', body, headers);
    expect(answer.mediaType).toBe(mediaType);
    conforms('/v1/credentials', answer);
  });

  it('when a job asks for an ExecCredential, then it is told apart from the envelope by kind, as the document says', async () => {
    const exec = conforms('/v1/credentials', await ask('/v1/credentials', { format: 'exec-credential' }));
    expect(exec).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: expect.any(String) } });
    expect(ajv.validate({ $ref: 'openapi#/components/schemas/CredentialEnvelope' }, exec)).toBe(false);
    const envelope = conforms('/v1/credentials', await ask('/v1/credentials', {}));
    expect(ajv.validate({ $ref: 'openapi#/components/schemas/ExecCredential' }, envelope)).toBe(false);
    expect(parse(envelope.kubeconfig as string)).toMatchObject({ kind: 'Config', 'current-context': 'local' });
  });

  it.each(['json', 'kubeconfig', 'exec-credential', 'env'])('when a holder rotates asking for %s, then the answer fits the document too', async (format) => {
    const first = await ask('/v1/credentials', {});
    const path = '/v1/issuances/{id}/rotate';
    conforms(path, await ask(`/v1/issuances/${(first.value as { issuanceId: string }).issuanceId}/rotate`, { format }));
  });
});
