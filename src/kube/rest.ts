import { ApiException, HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';

export interface RestAnswer {
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * One JSON call to the cluster's API server with the kubeconfig's credentials and connections, for
 * the calls every issuance makes: client-node's generated clients (whatwg fetch, model
 * (de)serialisation) cost several times the call itself. Failures are client-node's ApiException,
 * as problems.ts expects.
 */
export async function restCall(kc: KubeConfig, method: 'POST', path: string, body: unknown): Promise<RestAnswer> {
  const context = new RequestContext(`${kc.getCurrentCluster()!.server.replace(/\/$/, '')}${path}`, HttpMethod[method]);
  await kc.applySecurityAuthentication(context);
  const response = await request(context.getUrl(), {
    method,
    headers: { ...context.getHeaders(), accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(context.getDispatcher() ? { dispatcher: context.getDispatcher() as never } : {}),
  });
  const text = await response.body.text();
  // Repeated headers (Warning) are joined as fetch joins them.
  const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
  if (response.statusCode < 200 || response.statusCode > 299) {
    throw new ApiException(response.statusCode, `HTTP ${response.statusCode} from ${method} ${path}`, text, headers);
  }
  return { body: JSON.parse(text) as Record<string, unknown>, headers };
}
