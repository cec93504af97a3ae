import { Agent as HttpAgent } from 'node:http';
import { Agent, request, type RequestOptions } from 'node:https';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

// The baselines' client for the API server: node:https with keep-alive connections and the admin
// kubeconfig's client certificate, no library in between: as close to the API server as a client gets.

export interface KubeResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface KubeHttps {
  call(method: 'POST' | 'GET', path: string, body?: unknown): Promise<KubeResponse>;
  /** A streaming GET (a watch) on a connection of its own; `onLine` sees each JSON line; returns a stop. */
  stream(path: string, onLine: (event: Record<string, unknown>) => void): () => void;
}

export function kubeHttps(kubeconfigFile: string, connections: number): KubeHttps {
  const kc = parse(readFileSync(kubeconfigFile, 'utf8'));
  const cluster = kc.clusters[0].cluster;
  const user = kc.users[0].user;
  const tls = {
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(user['client-certificate-data'], 'base64'),
    key: Buffer.from(user['client-key-data'], 'base64'),
  };
  // Pools named by address alone, as kubevend's own agents are (src/kube/rest.ts): node:https would
  // build and hash a name holding the CA, certificate and key several times a request.
  const agent = new Agent({ ...tls, keepAlive: true, maxSockets: connections });
  agent.getName = (options?: RequestOptions) => HttpAgent.prototype.getName.call(agent, options);
  const server = new URL(cluster.server);

  return {
    call: (method, path, body) => new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        host: server.hostname, port: server.port, method, path, agent,
        headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    }),

    stream(path, onLine) {
      const req = request({ host: server.hostname, port: server.port, path, ...tls, agent: false, headers: { accept: 'application/json' } }, (res) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) onLine(JSON.parse(line));
          }
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      req.end();
      return () => req.destroy();
    },
  };
}

/**
 * What kubevend asks of the API server for one short-lived credential: the anchor Secret, then a
 * TokenRequest bound to it. Resolves to the TokenRequest's answer, or to the anchor's when that was
 * not a 201 (`what` says which).
 */
export async function issueDirect(kube: KubeHttps, namespace: string, serviceAccount: string, anchor: { metadata: { name: string } }, ttlSeconds: number): Promise<{ what: string; response: KubeResponse }> {
  const created = await kube.call('POST', `/api/v1/namespaces/${namespace}/secrets`, anchor);
  if (created.status !== 201) return { what: 'create anchor', response: created };
  const uid = (created.body.metadata as { uid: string }).uid;
  return {
    what: 'TokenRequest',
    response: await kube.call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { expirationSeconds: ttlSeconds, audiences: [], boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: anchor.metadata.name, uid } },
    }),
  };
}

/** Throws unless the API server answered `expected`. */
export function expectStatus(response: KubeResponse, expected: number, what: string): KubeResponse {
  if (response.status !== expected) throw new Error(`${what}: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
  return response;
}
