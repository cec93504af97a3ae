import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { Problem, problemOf } from '../errors.ts';
import { holdsNul } from '../input.ts';
import { IssuerUnavailableError } from '../policy/issuer-keys.ts';
import type { Identity } from '../policy/decide.ts';
import type { LoadedIssuer, PolicySource } from '../policy/load.ts';
import type { ReplayGuard } from '../store/ports.ts';

/** Larger tokens are refused before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Longest `jti` kept; a longer one is refused rather than stored. */
export const MAX_JTI_LENGTH = 256;
/** Tokens whose `exp` is further away than this are refused: no CI token lives a year. */
const MAX_LIFETIME_SECONDS = 366 * 86_400;

/** Who is calling: the issuer entry that vouched for the token, and the token's verified claims. */
export interface CallerIdentity extends Identity {
  claims: JWTPayload;
  jti?: string;
  expiresAt: Date;
  /**
   * Until when the spent `jti` must be remembered: `exp` plus the leeway verification allows, so
   * that no replay fits between the record's end and the token's acceptance.
   */
  replayUntil: Date;
  /** Whether the issuer, when it verified the token, asked for replay protection. */
  replayProtected: boolean;
}

/** Verifies CI identity tokens against the issuers of the policy in force, and guards replays. */
export function createAuthenticator({ policy, replay }: { policy: PolicySource; replay: ReplayGuard }) {
  async function verify(token: string | undefined): Promise<CallerIdentity> {
    if (!token) throw new Problem('token_missing', 'send the CI identity token as "Authorization: Bearer <token>"');
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw new Problem('token_too_large', `tokens over ${MAX_TOKEN_BYTES} bytes are refused`);
    // One signed token has one accepted spelling: base64url without padding, and no unused bits in
    // a segment's last character (a decoder that ignores them would accept several).
    if (!isCanonicalCompactJws(token)) throw new Problem('token_malformed', 'the bearer token is not a JWT in canonical base64url');
    let unverified: JWTPayload;
    try {
      decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new Problem('token_malformed', 'the bearer token is not a JWT with a JSON header and payload');
    }
    const issuer = policy.current().issuers.find((i) => i.issuer === unverified.iss);
    if (!issuer) throw new Problem('issuer_unknown', 'the token\'s "iss" is not a configured issuer');
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyWith(issuer, token));
    } catch (err) {
      throw verificationProblem(err);
    }
    checkClaims(payload, issuer);
    return {
      issuer: issuer.name,
      ...(payload.sub ? { subject: payload.sub } : {}),
      ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
      claims: payload,
      expiresAt: new Date(payload.exp! * 1000),
      replayUntil: new Date((payload.exp! + issuer.leewaySeconds) * 1000),
      replayProtected: issuer.replayProtection,
    };
  }

  /** Fail closed: when the replay store cannot answer, no token is taken as unused. */
  async function acceptOnce(identity: CallerIdentity): Promise<boolean> {
    try {
      return await replay.acceptOnce(identity.issuer, identity.jti!, identity.replayUntil);
    } catch (err) {
      throw problemOf(err, 'the replay store cannot be reached; nothing is issued');
    }
  }

  /**
   * Spends the token's `jti`, where its issuer protected against replay when it verified the
   * token: a reload in between cannot turn protection off for a token already in hand.
   */
  async function spend(identity: CallerIdentity): Promise<void> {
    // Verified when the headers came, spent when the body has: a token that expired in between
    // (a client can hold a request open) is no longer taken, and its spent record may be gone.
    assertUnexpired(identity);
    if (!identity.replayProtected) return;
    if (!identity.jti) throw new Problem('claim_invalid', 'the issuer requires a non-empty "jti" claim for replay protection');
    if (!(await acceptOnce(identity))) {
      throw new Problem('token_replayed', 'this token\'s "jti" was accepted before; ask the CI system for a new token');
    }
  }

  return {
    /** Verifies without spending the token: for decisions that issue nothing, and before `spend`. */
    verify,

    spend,

    /** Verifies and spends the token's `jti`, where its issuer protects against replay. */
    async authenticate(token: string | undefined): Promise<CallerIdentity> {
      const identity = await verify(token);
      await spend(identity);
      return identity;
    },

    /** Gives a spent `jti` back when its request issued nothing. */
    async release(identity: CallerIdentity): Promise<void> {
      if (identity.replayProtected && identity.jti) await replay.release(identity.issuer, identity.jti);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

// An empty signature is left to jose, which names its `alg: none` for what it is.
/** Throws when the token's acceptance (exp plus the leeway) has ended since it was verified. */
function assertUnexpired(identity: CallerIdentity, now = Date.now()): void {
  if (now > identity.replayUntil.getTime()) throw new Problem('token_expired', 'the token\'s "exp" has passed');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => BASE64URL.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part);
}

/**
 * What jose leaves to the caller: the types of `sub` and `jti`, `iat` in the future (jose checks it
 * only with a maximum age), and an `exp` no CI token has.
 */
function checkClaims(payload: JWTPayload, issuer: LoadedIssuer): void {
  const now = Date.now() / 1000;
  if (holdsNul(payload)) throw new Problem('claim_invalid', 'a claim of the token holds a NUL character');
  if (payload.sub !== undefined && typeof payload.sub !== 'string') throw new Problem('claim_invalid', 'the token\'s "sub" is not a string');
  if (payload.jti !== undefined && typeof payload.jti !== 'string') throw new Problem('claim_invalid', 'the token\'s "jti" is not a string');
  if (issuer.replayProtection && (typeof payload.jti !== 'string' || !/\S/.test(payload.jti) || payload.jti.length > MAX_JTI_LENGTH)) {
    throw new Problem('claim_invalid', `the issuer requires a non-empty "jti" claim (at most ${MAX_JTI_LENGTH} characters) for replay protection`);
  }
  if (typeof payload.iat === 'number' && payload.iat > now + issuer.leewaySeconds) {
    throw new Problem('claim_invalid', 'the token\'s "iat" is in the future');
  }
  if (payload.exp! > now + MAX_LIFETIME_SECONDS) throw new Problem('claim_invalid', 'the token\'s "exp" is further away than any CI token lives');
}

function verifyWith(issuer: LoadedIssuer, token: string) {
  const options = {
    issuer: issuer.issuer,
    audience: issuer.audiences,
    algorithms: issuer.algorithms,
    clockTolerance: issuer.leewaySeconds,
    requiredClaims: ['exp', 'aud'],
    ...(issuer.maxTokenAge ? { maxTokenAge: issuer.maxTokenAge } : {}),
  };
  // Two calls so that each key shape meets its own jose overload.
  return typeof issuer.key === 'function' ? jwtVerify(token, issuer.key, options) : jwtVerify(token, issuer.key, options);
}

function verificationProblem(err: unknown): Problem {
  if (err instanceof IssuerUnavailableError) return new Problem('issuer_unavailable', err.message, { cause: err });
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new Problem('issuer_unavailable', 'the issuer\'s JWKS could not be fetched', { cause: err });
  }
  if (err instanceof errors.JWTExpired) {
    // jose reports a token past the issuer's maximum age as expired on "iat".
    if (err.claim === 'iat') return new Problem('token_too_old', 'the token\'s "iat" is older than the issuer allows');
    return new Problem('token_expired', 'the token\'s "exp" has passed');
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new Problem('audience_mismatch', 'the token\'s "aud" names none of the issuer\'s audiences');
    if (err.claim === 'nbf') return new Problem('token_not_yet_valid', 'the token\'s "nbf" is in the future');
    return new Problem('claim_invalid', `the token's "${err.claim}" claim failed the check (${err.reason})`);
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new Problem('key_unknown', 'no key of the issuer matches the token\'s "kid" and "alg"');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new Problem('algorithm_not_allowed', 'the token\'s "alg" is not one the issuer allows');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new Problem('signature_invalid', 'the token\'s signature does not verify with the issuer\'s key');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof TypeError) {
    return new Problem('token_malformed', 'the token is not a well-formed signed JWT');
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new Problem('key_unknown', 'several keys of the issuer match the token\'s "kid"');
  return new Problem('signature_invalid', 'the token could not be verified', { cause: err });
}
