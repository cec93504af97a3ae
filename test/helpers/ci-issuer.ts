import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from 'jose';

export interface TestIssuer {
  /** The `iss` its tokens carry. */
  issuer: string;
  /** Where its public key (PEM) was written. */
  publicKeyFile: string;
  privateKey: CryptoKey;
  alg: string;
  /** Signs a CI-shaped token; claims override the defaults (aud kubevend, ten minutes of life). */
  mint(claims?: JWTPayload, options?: { header?: Record<string, unknown> }): Promise<string>;
}

/** A CI system's signing key, as a static-key issuer of the policy sees it. */
export async function createTestIssuer(dir: string, options: { alg?: 'RS256' | 'ES256'; issuer?: string } = {}): Promise<TestIssuer> {
  const alg = options.alg ?? 'RS256';
  const issuer = options.issuer ?? `https://ci-${randomUUID().slice(0, 8)}.example.test`;
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicKeyFile = join(dir, `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}.pub.pem`);
  await writeFile(publicKeyFile, await exportSPKI(publicKey));
  return {
    issuer,
    publicKeyFile,
    privateKey,
    alg,
    async mint(claims = {}, { header = {} } = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: 'kubevend', iat: now, nbf: now, exp: now + 600, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg, typ: 'JWT', ...header })
        .sign(privateKey);
    },
  };
}

/** Claims shaped like a GitHub Actions OIDC token for a push to main. */
export function githubClaims(repository: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: `repo:${repository}:ref:refs/heads/main`,
    repository,
    repository_owner: repository.split('/')[0],
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    workflow: 'deploy',
    run_id: '1234567890',
    actor: 'octocat',
    ...overrides,
  };
}
