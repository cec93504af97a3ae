import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// Requests a client library would refuse to send, so they go over a real socket as raw bytes: most
// of these are answered by Node's HTTP parser or by Fastify before any route sees them.

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/** Sends `bytes` and reads one answer; the connection is left to the server to close. */
function sendRaw(port: number, bytes: string, options: { keepOpen?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let answer: Omit<RawAnswer, 'closed'> | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer; received ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }, 10_000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      answer ??= parse(Buffer.concat(chunks));
      // An answer that keeps the connection open is complete once its body is in.
      if (answer && options.keepOpen) finish(false);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    function finish(closed: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      answer ??= parse(Buffer.concat(chunks));
      if (answer) resolve({ ...answer, closed });
      else reject(new Error(`no complete answer; received ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }
    socket.write(bytes);
  });
}

function parse(data: Buffer): Omit<RawAnswer, 'closed'> | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = data.subarray(end + 4);
  if (body.length < length) return undefined;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') };
}

/** Something a client might have put in its request that must never come back in the answer. */
const secret = 'kvSecretRequestContent';
const problemJson = /^application\/problem\+json(;|$)/;

describe('errors the server answers itself', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let kv: Kubevend;
  let ci: TestIssuer;
  let port: number;

  beforeAll(async () => {
    scratch = await scratchDir();
    ci = await createTestIssuer(scratch.dir);
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      // Nothing is issued here: the grant only makes the policy valid, so its namespace need not exist.
      pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: 'client-errors', serviceAccount: 'deployer' }] }],
    });
    // Node's own timeouts, shortened so that a slow client meets them within the test. Node checks
    // them every 30 s by default; it reads that interval (a server option, not in its types) when the
    // server starts listening.
    kv.app.server.headersTimeout = 500;
    kv.app.server.requestTimeout = 1000;
    (kv.app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 100;
    await kv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (kv.app.server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await kv?.close();
    await scratch?.cleanup();
  });

  const request = (line: string, headers: string[] = [], body = '') =>
    [line, 'Host: kubevend', ...headers, '', body].join('\r\n');
  const json = ['Content-Type: application/json', 'Connection: close'];
  // A request whose body is at fault carries a valid identity token, so that the body is what is
  // refused, whether the caller is authenticated before or after the body is read.
  const token = 'Authorization: Bearer {token}';

  // What the client does, its bytes, and the status and code it gets. Each connection is closed after
  // the answer: by the server when it cannot read the request, else as the request asks.
  const cases: { when: string; bytes: string; status: number; code: string }[] = [
    { when: 'a header is 20 KB long', bytes: request('GET /healthz HTTP/1.1', [`X-Note: ${secret}${'a'.repeat(20 * 1024)}`]), status: 431, code: 'headers_too_large' },
    { when: 'the request has 200 headers of 100 bytes', bytes: request('GET /healthz HTTP/1.1', Array.from({ length: 200 }, (_, i) => `X-Note-${i}: ${secret}${'a'.repeat(80)}`)), status: 431, code: 'headers_too_large' },
    { when: 'a header value holds a NUL', bytes: request('GET /healthz HTTP/1.1', [`X-Note: ${secret}\0`]), status: 400, code: 'bad_request' },
    { when: 'a header name holds a space', bytes: request('GET /healthz HTTP/1.1', [`X ${secret}: 1`]), status: 400, code: 'bad_request' },
    { when: 'the request line is not HTTP', bytes: `GET /healthz ${secret}\r\nHost: kubevend\r\n\r\n`, status: 400, code: 'bad_request' },
    { when: 'the method is not one HTTP knows', bytes: request(`${secret.toUpperCase()} /v1/credentials HTTP/1.1`), status: 400, code: 'bad_request' },
    { when: 'a chunk size is not hexadecimal', bytes: request('POST /v1/credentials HTTP/1.1', [token, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], `${secret}\r\n{}\r\n0\r\n\r\n`), status: 400, code: 'bad_request' },
    { when: 'the Content-Length is not a number', bytes: request('POST /v1/credentials HTTP/1.1', ['Content-Type: application/json', `Content-Length: ${secret}`], '{}'), status: 400, code: 'bad_request' },
    { when: 'both Content-Length and chunked encoding are sent', bytes: request('POST /v1/credentials HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked'], `2\r\n${secret}\r\n0\r\n\r\n`), status: 400, code: 'bad_request' },
    { when: 'an HTTP/1.1 request has no Host', bytes: `GET /healthz?${secret} HTTP/1.1\r\nConnection: close\r\n\r\n`, status: 400, code: 'bad_request' },
    { when: 'a path parameter is not valid percent-encoding', bytes: request(`GET /v1/issuances/${secret}%zz HTTP/1.1`, ['Connection: close']), status: 400, code: 'bad_request' },
    { when: 'a path is not valid percent-encoding', bytes: request(`GET /${secret}%zz HTTP/1.1`, ['Connection: close']), status: 400, code: 'bad_request' },
    { when: 'a path parameter is 200 characters long', bytes: request(`GET /v1/issuances/${secret}${'a'.repeat(200)} HTTP/1.1`, ['Connection: close']), status: 414, code: 'url_too_long' },
    { when: 'the route does not exist', bytes: request(`GET /v1/${secret} HTTP/1.1`, ['Connection: close']), status: 404, code: 'route_not_found' },
    { when: 'a known path is asked with PROPFIND', bytes: request('PROPFIND /v1/credentials HTTP/1.1', ['Connection: close', `X-Note: ${secret}`]), status: 405, code: 'method_not_allowed' },
    { when: 'a known path is asked with TRACE', bytes: request('TRACE /v1/credentials HTTP/1.1', ['Connection: close', `X-Note: ${secret}`]), status: 405, code: 'method_not_allowed' },
    { when: 'a known path is asked with GET instead of POST', bytes: request(`GET /v1/credentials?${secret} HTTP/1.1`, ['Connection: close']), status: 405, code: 'method_not_allowed' },
    { when: 'a known path is asked with OPTIONS', bytes: request('OPTIONS /v1/issuances HTTP/1.1', ['Connection: close']), status: 405, code: 'method_not_allowed' },
    { when: 'the request expects something other than 100-continue', bytes: request('POST /v1/credentials HTTP/1.1', [...json, `Expect: ${secret}`, 'Content-Length: 2'], '{}'), status: 417, code: 'expectation_failed' },
    { when: 'the body is not JSON', bytes: request('POST /v1/credentials HTTP/1.1', [token, 'Content-Type: text/plain', `Content-Length: ${secret.length}`, 'Connection: close'], secret), status: 415, code: 'unsupported_media_type' },
    { when: 'the body is larger than 64 KB', bytes: request('POST /v1/credentials HTTP/1.1', [token, ...json, `Content-Length: ${70 * 1024}`], `"${secret}${'a'.repeat(70 * 1024 - secret.length - 2)}"`), status: 413, code: 'body_too_large' },
    { when: 'the headers do not arrive in time', bytes: `GET /healthz?${secret} HTTP/1.1\r\nHost: kubevend\r\n`, status: 408, code: 'request_timeout' },
    { when: 'the body does not arrive in time', bytes: request('POST /v1/credentials HTTP/1.1', [token, 'Content-Type: application/json', 'Content-Length: 100'], `{"${secret}`), status: 408, code: 'request_timeout' },
  ];

  it.each(cases.map((c) => [c.when, c.status, c.code, c.bytes] as const))('when %s, then the answer is a problem+json %i %s that does not repeat the request', async (_, status, code, bytes) => {
    const answer = await sendRaw(port, bytes.replace('{token}', await ci.mint(githubClaims('acme/web'))));
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(problemJson);
    expect(JSON.parse(answer.body)).toMatchObject({ code, status, type: `urn:kubevend:problem:${code}`, instance: expect.stringMatching(/^urn:kubevend:request:/) });
    expect(answer.body.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(answer.headers['connection']).toBe('close');
    expect(answer.closed).toBe(true);
  });

  it('when a known path is asked with the wrong method, then the answer says which methods it allows', async () => {
    const answer = await sendRaw(port, request('DELETE /v1/credentials HTTP/1.1', ['Connection: close']));
    expect(answer.status).toBe(405);
    expect(answer.headers['allow']).toBe('POST');
  });

  it('when a route does not exist on a kept-alive connection, then it is a problem and the connection stays usable', async () => {
    const answer = await sendRaw(port, request('GET /v1/nothing HTTP/1.1'), { keepOpen: true });
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(problemJson);
    expect(answer.closed).toBe(false);
  });

  it('when a client sends bytes the parser refuses, then the refusal is logged once with its code and none of the request', async () => {
    const before = kv.logs.length;
    await sendRaw(port, request('GET /healthz HTTP/1.1', [`X-Note: ${secret}\0`]));
    const lines = kv.logs.slice(before).filter((line) => line.includes('"bad_request"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, code: 'bad_request', msg: 'request refused' });
    expect(lines[0]).not.toContain(secret);
  });
});
