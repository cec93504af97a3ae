import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
  /** The issuer URL: `https://127.0.0.1:<port>`. */
  issuer: string;
  /** PEM of the CA that signed the issuer's TLS certificate. */
  caFile: string;
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

/** A real HTTPS OIDC issuer on loopback: discovery, a JWKS, key rotation; like a CI system's. */
export async function startOidcIssuer(dir: string, options: { audience?: string } = {}): Promise<OidcIssuer> {
  const tls = await tlsFiles(dir);
  const keys: SigningKey[] = [];
  const newKey = async (): Promise<SigningKey> => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  keys.push(await newKey());
  let fetches = 0;
  let issuer = '';

  const server: Server = createServer({ key: await readFile(tls.key), cert: await readFile(tls.cert) }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/.well-known/jwks') {
      fetches++;
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    issuer,
    caFile: tls.ca,
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
