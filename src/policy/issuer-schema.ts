import { z } from 'zod';
import { durationSchema } from './duration.ts';

const asymmetric = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const hmac = ['HS256', 'HS384', 'HS512'] as const;

/** Defaults a `preset` fills in; anything the entry sets itself wins. */
export const issuerPresets = {
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com', discovery: true, algorithms: ['RS256'],
    // GitHub's ID tokens expire 5 minutes after `iat`; 10 minutes leaves room for clock skew and a slower job step.
    maxTokenAge: '10m',
  },
  gitlab: {
    discovery: true, algorithms: ['RS256'],
    // An `id_tokens` token lives as long as its job may run, 60 minutes by default; jobs with a longer timeout set their own.
    maxTokenAge: '65m',
  },
} as const;

const keySources = ['discovery', 'jwksUri', 'jwksFile', 'publicKeyFile', 'hmacSecretFile'] as const;

export const issuerFields = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63).describe('How pipelines and operators refer to this issuer'),
  preset: z.enum(Object.keys(issuerPresets) as ['github-actions', 'gitlab']).optional()
    .describe('Fills in the issuer URL (GitHub), discovery, algorithms and a maximum token age for a known CI system'),
  issuer: z.url({ protocol: /^https?$/ }).describe('The exact `iss` claim of its tokens; an https URL'),
  audiences: z.array(z.string().min(1)).min(1).describe('Tokens must carry at least one of these in `aud`'),
  discovery: z.literal(true).optional().describe('Find the JWKS by OIDC discovery at `<issuer>/.well-known/openid-configuration`'),
  jwksUri: z.url({ protocol: /^https?$/ }).optional().describe('The JWKS URL (https), without discovery'),
  jwksFile: z.string().min(1).optional().describe('A JWKS file with the signing keys'),
  publicKeyFile: z.string().min(1).optional().describe('A PEM public key (SPKI)'),
  hmacSecretFile: z.string().min(1).optional().describe('A file holding a shared HMAC secret (at least 32 bytes)'),
  caFile: z.string().min(1).optional().describe('PEM CA bundle to trust for discovery and JWKS, beside the system CAs'),
  insecure: z.boolean().default(false)
    .describe('For local testing only: allows http for the issuer URL, discovery and jwksUri, where anyone on the network path could swap the keys'),
  algorithms: z.array(z.enum([...asymmetric, ...hmac])).min(1).optional()
    .describe('Accepted JWS algorithms; default RS256 and ES256, or HS256 with an HMAC secret. Never `none`'),
  leewaySeconds: z.number().int().min(0).max(60).default(30).describe('Clock skew allowed for exp, nbf and iat'),
  maxTokenAge: durationSchema.optional().describe('Refuse tokens whose `iat` is older than this'),
  jwksCacheTtl: durationSchema.default(600).describe('How long fetched keys are trusted before they are fetched again'),
  jwksRefetchInterval: durationSchema.default(30)
    .describe('A token with an unknown `kid` fetches the JWKS again at most this often, so key rotation needs no restart'),
  replayProtection: z.boolean().default(true).describe('Accept each token `jti` once until the token expires; tokens without `jti` are refused'),
});

export const issuerSchema = z.preprocess(
  (raw) => {
    const preset = (raw as { preset?: string } | null)?.preset;
    return preset && preset in issuerPresets ? { ...issuerPresets[preset as keyof typeof issuerPresets], ...(raw as object) } : raw;
  },
  issuerFields.superRefine((issuer, ctx) => {
    const sources = keySources.filter((k) => issuer[k] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: `set exactly one of ${keySources.join(', ')} (found ${sources.join(', ') || 'none'})` });
    }
    // Static-key issuers fetch nothing, but their issuer URL is held to https as well, so that the
    // rule reads in one sentence: https everywhere unless the entry says insecure.
    for (const field of ['issuer', 'jwksUri'] as const) {
      const url = issuer[field];
      if (!issuer.insecure && url !== undefined && URL.canParse(url) && new URL(url).protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', path: [field], message: 'must be an https URL (insecure: true allows http, for local testing only)' });
      }
    }
    const isHmac = issuer.hmacSecretFile !== undefined;
    const wrong = (issuer.algorithms ?? []).filter((a) => (hmac as readonly string[]).includes(a) !== isHmac);
    if (wrong.length) {
      ctx.addIssue({
        code: 'custom', path: ['algorithms'],
        message: isHmac ? `an HMAC secret allows only ${hmac.join(', ')}` : `HMAC algorithms (${wrong.join(', ')}) are refused where a public key is configured`,
      });
    }
  }).transform((issuer) => ({
    ...issuer,
    algorithms: issuer.algorithms ?? (issuer.hmacSecretFile ? ['HS256'] : ['RS256', 'ES256']),
  })),
);

export type IssuerPolicy = z.output<typeof issuerSchema>;
