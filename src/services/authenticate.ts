import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { Problem } from '../errors.ts';
import type { PolicySource } from './ports.ts';

/** Larger tokens are refused before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Who is calling: the issuer entry that vouched for the token, and the token's verified claims. */
export interface CallerIdentity {
  issuer: string;
  subject?: string;
  claims: JWTPayload;
}

/** Verifies a CI identity token against the issuers of the policy in force. */
export async function authenticate(policy: PolicySource, token: string | undefined): Promise<CallerIdentity> {
  if (!token) throw new Problem('token_missing', 'send the CI identity token as "Authorization: Bearer <token>"');
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
    throw new Problem('token_too_large', `tokens over ${MAX_TOKEN_BYTES} bytes are refused`);
  }
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw new Problem('token_malformed', 'the bearer token is not a JWT with a JSON payload');
  }
  const issuer = policy.current().issuers.find((i) => i.issuer === unverified.iss);
  if (!issuer) throw new Problem('issuer_unknown', 'the token\'s "iss" is not a configured issuer');
  try {
    const { payload } = await jwtVerify(token, issuer.publicKey, {
      issuer: issuer.issuer,
      audience: issuer.audiences,
      algorithms: issuer.algorithms,
      clockTolerance: issuer.leewaySeconds,
      requiredClaims: ['exp', 'aud'],
    });
    return { issuer: issuer.name, ...(payload.sub ? { subject: payload.sub } : {}), claims: payload };
  } catch (err) {
    throw verificationProblem(err);
  }
}

function verificationProblem(err: unknown): Problem {
  if (err instanceof errors.JWTExpired) return new Problem('token_expired', 'the token\'s "exp" has passed');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new Problem('audience_mismatch', 'the token\'s "aud" names none of the issuer\'s audiences');
    if (err.claim === 'nbf') return new Problem('token_not_yet_valid', 'the token\'s "nbf" is in the future');
    return new Problem('claim_invalid', `the token's "${err.claim}" claim failed: ${err.reason}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new Problem('algorithm_not_allowed', 'the token\'s "alg" is not one the issuer allows');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new Problem('signature_invalid', 'the token\'s signature does not verify with the issuer\'s key');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof TypeError) {
    return new Problem('token_malformed', 'the token is not a well-formed signed JWT');
  }
  return new Problem('signature_invalid', 'the token could not be verified', { cause: err });
}
