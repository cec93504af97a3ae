import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

const run = promisify(execFile);

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface OidcIssuer {
  /** The issuer URL: `https://127.0.0.1:<port>` (or `http://` with `plain`). */
  issuer: string;
  /** PEM of the CA that signed the issuer's TLS certificate; none with `plain`. */
  caFile?: string;
  /** How often the JWKS was fetched. */
  jwksFetches(): number;
  /** Signs with the newest key (or a key that was never published, with `unpublished`). */
  mint(claims?: JWTPayload, options?: { unpublished?: boolean; header?: Record<string, unknown> }): Promise<string>;
  /** Adds a new signing key; the JWKS publishes the old and the new one, and new tokens use the new one. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

/** A CA and a TLS certificate for 127.0.0.1, made with openssl in `dir`. */
async function tlsFiles(dir: string): Promise<{ ca: string; key: string; cert: string }> {
  const prefix = randomUUID().slice(0, 8);
  const p = (f: string) => join(dir, `${prefix}-${f}`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('oidc-ca.key'), '-out', p('oidc-ca.crt'), '-days', '2', '-subj', '/CN=kubevend-test-oidc-ca']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('oidc.key'), '-out', p('oidc.csr'), '-subj', '/CN=127.0.0.1']);
  await run('bash', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > '${p('oidc.ext')}'`]);
  await run('openssl', ['x509', '-req', '-in', p('oidc.csr'), '-CA', p('oidc-ca.crt'), '-CAkey', p('oidc-ca.key'), '-CAcreateserial', '-out', p('oidc.crt'), '-days', '2', '-extfile', p('oidc.ext')]);
  return { ca: p('oidc-ca.crt'), key: p('oidc.key'), cert: p('oidc.crt') };
}

export interface OidcIssuerOptions {
  audience?: string;
  /** Plain HTTP instead of HTTPS: what kubevend accepts only under `insecure: true`. */
  plain?: boolean;
  /** The `jwks_uri` the discovery document names, instead of the issuer's own JWKS. */
  jwksUri?: string;
  /** Paths answered with a 302 to another URL, as a hijacked or misconfigured server would. */
  redirects?: Record<string, string>;
}

/** A real OIDC issuer on loopback (HTTPS unless `plain`): discovery, a JWKS, key rotation; like a CI system's. */
export async function startOidcIssuer(dir: string, options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
  const keys: SigningKey[] = [];
  const newKey = async (): Promise<SigningKey> => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  keys.push(await newKey());
  let fetches = 0;
  let issuer = '';

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const location = options.redirects?.[req.url ?? ''];
    if (location) {
      res.writeHead(302, { location });
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: options.jwksUri ?? `${issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/.well-known/jwks') {
      fetches++;
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  };
  const tls = options.plain ? undefined : await tlsFiles(dir);
  const server: Server | ReturnType<typeof createHttpServer> = tls
    ? createServer({ key: await readFile(tls.key), cert: await readFile(tls.cert) }, handle)
    : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    issuer,
    ...(tls ? { caFile: tls.ca } : {}),
    jwksFetches: () => fetches,
    async mint(claims = {}, { unpublished = false, header = {} } = {}) {
      const key = unpublished ? await newKey() : keys.at(-1)!;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: options.audience ?? 'kubevend', iat: now, nbf: now, exp: now + 300, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })
        .sign(key.privateKey);
    },
    async rotate() {
      keys.push(await newKey());
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Claims shaped like a GitLab CI `id_tokens` token (ids and booleans are strings). */
export function gitlabClaims(projectPath: string, overrides: JWTPayload = {}): JWTPayload {
  const [namespace] = projectPath.split('/');
  return {
    sub: `project_path:${projectPath}:ref_type:branch:ref:main`,
    namespace_id: '72', namespace_path: namespace, project_id: '4711', project_path: projectPath,
    user_id: '42', user_login: 'jane', pipeline_id: '1001', pipeline_source: 'push', job_id: '2002',
    ref: 'main', ref_type: 'branch', ref_path: 'refs/heads/main', ref_protected: 'true',
    environment: 'production', environment_protected: 'true', deployment_tier: 'production',
    runner_id: '7', sha: 'b'.repeat(40),
    ...overrides,
  };
}
