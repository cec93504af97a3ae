import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
/** JSON answers and problems only: the kubeconfig and env formats are text, read by `issueCredential`. */
type Json = 'application/json' | 'application/problem+json';
export type KubevendClient = Client<paths, Json>;
export type Problem = components['schemas']['Problem'];
export type CredentialEnvelope = components['schemas']['CredentialEnvelope'];
export type ExecCredential = components['schemas']['ExecCredential'];
export type CredentialRequest = NonNullable<paths['/v1/credentials']['post']['requestBody']>['content']['application/json'];
export type CredentialFormat = NonNullable<CredentialRequest['format']>;
/** What `POST /v1/credentials` answers for a format: the envelope, an ExecCredential, or text. */
export type CredentialAnswer<F extends CredentialFormat | undefined> =
  F extends 'exec-credential' ? ExecCredential : F extends 'kubeconfig' | 'env' ? string : CredentialEnvelope;

/**
 * A typed client for other services. `token` is the caller's bearer token (a CI identity token or an
 * operator's token), or a function that returns a fresh one for each request.
 */
export function createKubevendClient(
  baseUrl: string,
  options: { token: string | (() => string | Promise<string>); fetch?: typeof globalThis.fetch },
): KubevendClient {
  const client = createClient<paths, Json>({ baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

/**
 * `POST /v1/credentials` with the answer typed by the body's `format`: one operation answers JSON of
 * two shapes or text, which a type per media type alone cannot say.
 */
export async function issueCredential<F extends CredentialFormat | undefined = undefined>(
  client: KubevendClient, body: CredentialRequest & { format?: F },
): Promise<{ data: CredentialAnswer<F>; error?: never; response: Response } | { data?: never; error: Problem; response: Response }> {
  const text = body.format === 'kubeconfig' || body.format === 'env';
  const { data, error, response } = await client.POST('/v1/credentials', { body, parseAs: text ? 'text' : 'json' });
  return error ? { error: error as Problem, response } : { data: data as CredentialAnswer<F>, response };
}
