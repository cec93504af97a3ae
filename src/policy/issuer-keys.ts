import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { IssuerPolicy } from './issuer-schema.ts';

/** What verifies an issuer's tokens: a static key, or a key set chosen by the token's `kid`. */
export type VerificationKey = KeyObject | JWTVerifyGetKey;

/** Discovery or the JWKS endpoint failed: kubevend cannot tell whether a token is genuine. */
export class IssuerUnavailableError extends Error {}

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const FETCH_TIMEOUT_MS = 5000;
const DISCOVERY_RETRY_MS = 5000;

/**
 * Remote key sets outlive policy reloads, so a reload does not refetch every JWKS and rotation
 * state (the last fetch, the cooldown) is kept. Keyed by what defines the remote set.
 */
export class RemoteKeyCache {
  readonly #sets = new Map<string, JWTVerifyGetKey>();

  get(key: string, make: () => JWTVerifyGetKey): JWTVerifyGetKey {
    let set = this.#sets.get(key);
    if (!set) this.#sets.set(key, (set = make()));
    return set;
  }
}

/** Reads (or prepares to fetch) an issuer's keys. Relative paths are already resolved. */
export async function issuerKey(issuer: IssuerPolicy, cache: RemoteKeyCache, read: (file: string) => Promise<string>): Promise<VerificationKey> {
  if (issuer.publicKeyFile) return createPublicKey(await read(issuer.publicKeyFile));
  if (issuer.hmacSecretFile) {
    const secret = Buffer.from((await read(issuer.hmacSecretFile)).trimEnd());
    if (secret.length < 32) throw new Error('the HMAC secret must be at least 32 bytes');
    return createSecretKey(secret);
  }
  if (issuer.jwksFile) return createLocalJWKSet(JSON.parse(await read(issuer.jwksFile)));
  const ca = issuer.caFile ? await read(issuer.caFile) : undefined;
  const fetcher = fetchTrusting(ca);
  const cacheKey = JSON.stringify([issuer.issuer, issuer.jwksUri, issuer.caFile, ca, issuer.insecure, issuer.jwksCacheTtl, issuer.jwksRefetchInterval]);
  return cache.get(cacheKey, () => remoteKeySet(issuer, fetcher));
}

function remoteKeySet(issuer: IssuerPolicy, fetcher: FetchLike): JWTVerifyGetKey {
  let jwksUri: Promise<URL> | undefined = issuer.jwksUri ? Promise.resolve(new URL(issuer.jwksUri)) : undefined;
  let set: JWTVerifyGetKey | undefined;
  let failedAt = 0;
  return async (header, token) => {
    if (!set) {
      if (!jwksUri && Date.now() - failedAt < DISCOVERY_RETRY_MS) throw new IssuerUnavailableError('OIDC discovery failed moments ago');
      jwksUri ??= discoverJwksUri(issuer.issuer, issuer.insecure, fetcher).catch((err) => {
        jwksUri = undefined;
        failedAt = Date.now();
        throw err;
      });
      set = createRemoteJWKSet(await jwksUri, {
        cacheMaxAge: issuer.jwksCacheTtl * 1000,
        cooldownDuration: issuer.jwksRefetchInterval * 1000,
        timeoutDuration: FETCH_TIMEOUT_MS,
        [customFetch]: jwksFetch(fetcher),
      });
    }
    return set(header, token);
  };
}

async function discoverJwksUri(issuerUrl: string, insecure: boolean, fetcher: FetchLike): Promise<URL> {
  const url = `${issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const res = await fetcher(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as typeof doc;
  } catch (err) {
    throw new IssuerUnavailableError(`OIDC discovery at ${url} failed: ${(err as Error).message}`);
  }
  if (doc.issuer !== issuerUrl) throw new IssuerUnavailableError(`OIDC discovery at ${url} names another issuer`);
  const protocols = insecure ? ['https:', 'http:'] : ['https:'];
  if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri) || !protocols.includes(new URL(doc.jwks_uri).protocol)) {
    throw new IssuerUnavailableError(`OIDC discovery at ${url} has no ${insecure ? 'http(s)' : 'https'} jwks_uri`);
  }
  return new URL(doc.jwks_uri);
}

/**
 * jose asks for the JWKS with `redirect: 'manual'`; refusing redirects outright keeps an https
 * JWKS URL from ever leading to http, whatever jose does with a 3xx. A failed fetch is the
 * issuer being unavailable, not a bad token.
 */
function jwksFetch(fetcher: FetchLike): FetchLike {
  return async (url, init) => {
    let res: Response;
    try {
      res = await fetcher(url, { ...init, redirect: 'error' });
    } catch (err) {
      const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      throw new IssuerUnavailableError(`fetching the JWKS at ${url} failed: ${reason}`);
    }
    if (res.status !== 200) throw new IssuerUnavailableError(`the JWKS at ${url} answered HTTP ${res.status}`);
    return res;
  };
}

function fetchTrusting(ca: string | undefined): FetchLike {
  if (!ca) return (url, init) => fetch(url, init);
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, ca] } });
  return (url, init) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
}
