import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.ts';

export type { components, paths };
/** JSON answers and problems only: the kubeconfig and env formats are for curl, not for services. */
type Json = 'application/json' | 'application/problem+json';
export type KubevendClient = Client<paths, Json>;
export type Problem = components['schemas']['Problem'];

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
