import { Agent as HttpAgent } from 'node:http';
import { Agent, request as httpsRequest, type AgentOptions, type RequestOptions } from 'node:https';
import { ApiException, HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { request as undiciRequest } from 'undici';
import { sameTls, tlsFields } from './connections.ts';

type Method = 'GET' | 'POST' | 'DELETE';

export interface RestAnswer {
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * One JSON call to the cluster's API server with the kubeconfig's credentials: every call kubevend
 * makes but the watch. client-node's generated clients (whatwg fetch, model (de)serialisation) cost
 * several times the call itself, and not using them lets the built server leave their 900 modules
 * out (scripts/bundle.ts). Over HTTPS without a proxy it goes through node:https on
 * keep-alive connections: through undici's client (which negotiated HTTP/2), the bench's real
 * server held 324 MB after 10,000 issuances, over node:https 189 MB. Through a proxy, or to a plain-HTTP
 * server, it goes through client-node's own connection (undici), which knows proxies. Failures are
 * client-node's ApiException, as problems.ts expects. `signal` (the call's deadline) destroys the
 * request, so that a call given up on no longer holds a connection, nor a place at the API server.
 */
export async function restCall(kc: KubeConfig, method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<RestAnswer> {
  const cluster = kc.getCurrentCluster()!;
  const options = internals(kc).applyOptions;
  if (!options || cluster.proxyUrl || !cluster.server.startsWith('https:')) return viaClientNode(kc, method, path, body, signal);
  const settings: RequestOptions = {};
  // The kubeconfig's TLS material and the Authorization header of its user (token, token file,
  // exec plugin or auth provider), as client-node reads them for every call of its own.
  await options.call(kc, settings);
  const user = kc.getCurrentUser();
  const headers: Record<string, string | number> = { ...(settings.headers as Record<string, string> | undefined) };
  if (user?.username) headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  const server = new URL(cluster.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const sent = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      // An IPv6 literal without its brackets, or it would be looked up as a name.
      host: server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.port || 443,
      method,
      path: `${server.pathname.replace(/\/$/, '')}${path}`,
      agent: agentFor(kc, server.origin, settings),
      headers: { ...headers, accept: 'application/json', ...sent },
      ...(signal ? { signal } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        try {
          resolve(answer(method, path, status, text, res.headers));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('the API server connection went quiet'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

async function viaClientNode(kc: KubeConfig, method: Method, path: string, body: unknown, signal: AbortSignal | undefined): Promise<RestAnswer> {
  const context = new RequestContext(`${kc.getCurrentCluster()!.server.replace(/\/$/, '')}${path}`, HttpMethod[method]);
  await kc.applySecurityAuthentication(context);
  const response = await undiciRequest(context.getUrl(), {
    method,
    headers: { ...context.getHeaders(), accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(context.getDispatcher() ? { dispatcher: context.getDispatcher() as never } : {}),
    ...(signal ? { signal } : {}),
  });
  return answer(method, path, response.statusCode, await response.body.text(), response.headers);
}

function answer(method: string, path: string, status: number, text: string, raw: Record<string, string | string[] | undefined>): RestAnswer {
  // Repeated headers (Warning) are joined as fetch joins them.
  const headers = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
  if (status < 200 || status > 299) throw new ApiException(status, `HTTP ${status} from ${method} ${path}`, text, headers);
  return { body: JSON.parse(text) as Record<string, unknown>, headers };
}

/** client-node's own reading of a kubeconfig into request options; absent in a version that drops it. */
function internals(kc: KubeConfig): { applyOptions?: (this: KubeConfig, options: RequestOptions) => Promise<void> } {
  return kc as unknown as { applyOptions?: (this: KubeConfig, options: RequestOptions) => Promise<void> };
}

/** Idle connections close after this long, well before the API server's own 90 s. */
const idleMs = 30_000;
/** An agent replaced (new TLS material) closes after this long: every call on it has ended by then. */
const retireMs = 60_000;

const agents = new WeakMap<KubeConfig, { origin: string; tls: AgentOptions; agent: Agent }>();

/**
 * node:https names a pool of kept connections by its address and its TLS options, the CA,
 * certificate and key included: the name is built, several KB of PEM, and hashed as a property key,
 * several times a request. Each of these agents has TLS material of its own, fixed for its life
 * (agentFor makes a new one when it changes), so the address alone names its pools, as for plain
 * HTTP.
 */
class ClusterAgent extends Agent {
  override getName(options?: RequestOptions): string {
    return HttpAgent.prototype.getName.call(this, options);
  }
}

/**
 * The keep-alive agent of a cluster, kept for as long as its server and TLS material stay the same;
 * the files are still read on every call, so a rotated certificate gets a new agent.
 */
function agentFor(kc: KubeConfig, origin: string, settings: RequestOptions): Agent {
  const current = agents.get(kc);
  if (current && current.origin === origin && sameTls(current.tls, settings as AgentOptions)) return current.agent;
  const tls: AgentOptions = {};
  for (const field of tlsFields) if (settings[field] !== undefined) Object.assign(tls, { [field]: settings[field] });
  const agent = new ClusterAgent({ ...tls, keepAlive: true, timeout: idleMs, scheduling: 'lifo' });
  if (current) setTimeout(() => current.agent.destroy(), retireMs).unref();
  agents.set(kc, { origin, tls, agent });
  return agent;
}
