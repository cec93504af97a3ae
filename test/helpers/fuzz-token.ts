import { constants, createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';

// CI identity tokens for the fuzz suite: a valid baseline, mutated claim by claim, header by header
// and byte by byte, and an oracle that says, without asking kubevend, whether the result is exactly
// valid. The oracle answers "ambiguous" for edges whose validity is not settled (a time a second from
// a boundary, a claim array that holds the right value); the suite skips those rather than guess.

export const AUDIENCE = 'kubevend';
export const LEEWAY = 30;
/** Seconds kept between a generated time and a boundary: the server reads its clock after the test does. */
const MARGIN = 5;

/** The pipelines of the fuzz policy, and the claims each baseline token carries to fit one. */
export const targets = {
  web: { repository: 'acme/web', ref: 'refs/heads/main', sub: 'repo:acme/web:ref:refs/heads/main' },
  sub: { repository: 'acme/api', ref: 'refs/heads/main', sub: 'repo:acme/api:ref:refs/heads/main' },
  glob: { repository: 'acme-ops/deploy', ref: 'refs/heads/main', sub: 'repo:acme-ops/deploy:ref:refs/heads/main' },
  admin: { repository: 'acme/platform-ops', ref: 'refs/heads/main', sub: 'repo:acme/platform-ops:ref:refs/heads/main' },
} as const;
export type Target = keyof typeof targets;
const GLOB_PREFIX = 'acme-ops/';

/** The fuzz policy's pipelines (issuer, grants and rate limit aside); the oracle decides them on its own. */
export const fuzzPipelines = [
  { name: 'fuzz-web', match: { repository: targets.web.repository }, conditions: { ref: targets.web.ref } },
  { name: 'fuzz-sub', match: { sub: targets.sub.sub } },
  { name: 'fuzz-glob', match: { repository: `${GLOB_PREFIX}*` } },
];

export interface FuzzKeys {
  issuer: string;
  rsa: KeyObject;
  publicPem: string;
  attacker: KeyObject;
  attackerJwk: object;
  ec: KeyObject;
}

export function createFuzzKeys(issuer: string): FuzzKeys {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    issuer,
    rsa: rsa.privateKey,
    publicPem: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    attacker: attacker.privateKey,
    attackerJwk: { ...attacker.publicKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' },
    ec: ec.privateKey,
  };
}

// ---- the plan of a token: what fast-check generates ------------------------------------------

/** A claim or header value: JSON, raw JSON text (duplicates, 1e999), seconds from now, or a fresh uuid. */
export type Value = { json: unknown } | { raw: string } | { rel: number } | { fresh: true } | { issuer: string };
export type Edit = { key: string; op: 'set' | 'delete' | 'before' | 'after'; value?: Value };
export type Signer = 'RS256' | 'RS384' | 'PS256' | 'ES256-other' | 'RS256-attacker' | 'HS256-public-key' | 'none' | 'garbage' | 'truncated';
export type Encoding =
  | 'as-is' | 'trailing-dot' | 'leading-dot' | 'double-dot' | 'fourth-segment' | 'pad-header' | 'pad-payload'
  | 'pad-signature' | 'signature-trailing-bits' | 'inner-space' | 'inner-tab' | 'standard-base64' | 'very-long' | 'empty-signature';
/** How the Authorization header carries the token: `as-is` variants keep the token exactly. */
export type Framing = 'Bearer' | 'bearer' | 'Bearer-two-spaces' | 'Bearer-trailing-space' | 'Basic' | 'bare' | 'absent';

export interface TokenPlan {
  target: Target;
  header: Edit[];
  headerText?: string;
  claims: Edit[];
  payloadText?: string;
  signer: Signer;
  encoding: Encoding;
  framing: Framing;
}

const baselineHeader: [string, Value][] = [['alg', { json: 'RS256' }], ['typ', { json: 'JWT' }]];

function baselineClaims(keys: FuzzKeys, target: Target): [string, Value][] {
  const t = targets[target];
  return [
    ['iss', { issuer: keys.issuer }], ['aud', { json: AUDIENCE }], ['sub', { json: t.sub }],
    ['iat', { rel: 0 }], ['nbf', { rel: 0 }], ['exp', { rel: 600 }], ['jti', { fresh: true }],
    ['repository', { json: t.repository }], ['repository_owner', { json: t.repository.split('/')[0] }],
    ['ref', { json: t.ref }], ['sha', { json: 'a'.repeat(40) }], ['workflow', { json: 'deploy' }], ['run_id', { json: '1234567890' }],
  ];
}

// ---- building ------------------------------------------------------------------------------------

export interface BuiltToken {
  /** The token as signed and encoded exactly (the canonical compact serialization). */
  canonical: string;
  /** The token after the encoding mutation. */
  token: string;
  /** The Authorization header sent, or undefined for none. */
  authorization: string | undefined;
  headerText: string;
  payloadText: string;
  signer: Signer;
  framing: Framing;
  /** Seconds since the epoch when it was built. */
  now: number;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');
const toStd = (segment: string) => Buffer.from(segment, 'base64url').toString('base64');

function applyEdits(base: [string, Value][], edits: Edit[]): [string, Value][] {
  let entries = [...base];
  for (const edit of edits) {
    const at = entries.findIndex(([k]) => k === edit.key);
    if (edit.op === 'delete') entries = entries.filter(([k]) => k !== edit.key);
    else if (edit.op === 'set' && at >= 0) entries[at] = [edit.key, edit.value!];
    else if (edit.op === 'before') entries.splice(Math.max(at, 0), 0, [edit.key, edit.value!]);
    else entries.push([edit.key, edit.value!]);
  }
  return entries;
}

function valueText(value: Value, now: number, jti: string): string {
  if ('raw' in value) return value.raw;
  if ('rel' in value) return JSON.stringify(now + value.rel);
  if ('fresh' in value) return JSON.stringify(jti);
  if ('issuer' in value) return JSON.stringify(value.issuer);
  return JSON.stringify(value.json) ?? 'null';
}

const objectText = (entries: [string, Value][], now: number, jti: string) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${valueText(v, now, jti)}`).join(',')}}`;

function signature(keys: FuzzKeys, signer: Signer, input: string): string {
  const data = Buffer.from(input);
  switch (signer) {
    case 'RS256': return b64url(sign('sha256', data, keys.rsa));
    case 'RS384': return b64url(sign('sha384', data, keys.rsa));
    case 'PS256': return b64url(sign('sha256', data, { key: keys.rsa, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }));
    case 'ES256-other': return b64url(sign('sha256', data, { key: keys.ec, dsaEncoding: 'ieee-p1363' }));
    case 'RS256-attacker': return b64url(sign('sha256', data, keys.attacker));
    case 'HS256-public-key': return b64url(createHmac('sha256', keys.publicPem).update(data).digest());
    case 'none': return '';
    case 'garbage': return b64url(Buffer.from(input).subarray(0, 64));
    case 'truncated': return b64url(sign('sha256', data, keys.rsa)).slice(0, -4);
  }
}

function encode(canonical: string, encoding: Encoding): string {
  const [h = '', p = '', s = ''] = canonical.split('.');
  switch (encoding) {
    case 'as-is': return canonical;
    case 'trailing-dot': return `${canonical}.`;
    case 'leading-dot': return `.${canonical}`;
    case 'double-dot': return `${h}..${p}.${s}`;
    case 'fourth-segment': return `${canonical}.${s}`;
    case 'pad-header': return `${h}=.${p}.${s}`;
    case 'pad-payload': return `${h}.${p}==.${s}`;
    case 'pad-signature': return `${h}.${p}.${s}${'='.repeat((4 - (s.length % 4)) % 4) || '='}`;
    // The last character of an unpadded segment carries bits no byte uses; flipping one keeps the bytes.
    case 'signature-trailing-bits': return `${h}.${p}.${s.slice(0, -1)}${B64URL[B64URL.indexOf(s.at(-1) ?? 'A') ^ 1]}`;
    case 'inner-space': return `${h}.${p.slice(0, 5)} ${p.slice(5)}.${s}`;
    case 'inner-tab': return `${h}.${p}\t.${s}`;
    case 'standard-base64': return [h, p, s].map(toStd).join('.');
    case 'very-long': return `${canonical}${'A'.repeat(20_000)}`;
    case 'empty-signature': return `${h}.${p}.`;
  }
}

function frame(token: string, framing: Framing): string | undefined {
  switch (framing) {
    case 'Bearer': return `Bearer ${token}`;
    case 'bearer': return `bearer ${token}`;
    case 'Bearer-two-spaces': return `Bearer  ${token}`;
    case 'Bearer-trailing-space': return `Bearer ${token} `;
    case 'Basic': return `Basic ${token}`;
    case 'bare': return token;
    case 'absent': return undefined;
  }
}

/** Builds the token of a plan now, with a fresh `jti` where the plan keeps the baseline's. */
export function buildToken(keys: FuzzKeys, plan: TokenPlan): BuiltToken {
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const headerText = plan.headerText ?? objectText(applyEdits(baselineHeader, plan.header), now, jti);
  const payloadText = plan.payloadText ?? objectText(applyEdits(baselineClaims(keys, plan.target), plan.claims), now, jti);
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const canonical = `${input}.${signature(keys, plan.signer, input)}`;
  const token = encode(canonical, plan.encoding);
  return { canonical, token, authorization: frame(token, plan.framing), headerText, payloadText, signer: plan.signer, framing: plan.framing, now };
}

// ---- the oracle -------------------------------------------------------------------------------

export type Verdict = { valid: true; jti: string; exp: number } | { valid: false; why: string } | { ambiguous: string };

/** The `jti`s kubevend answered 2xx for, with the `exp` of the token that spent each. */
export type SpentJtis = Map<string, number>;

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
const allStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Whether the framing carries the token unchanged (HTTP strips the value's surrounding spaces; the scheme is case-insensitive). */
const framingKeepsToken = (f: Framing) => f === 'Bearer' || f === 'bearer' || f === 'Bearer-two-spaces' || f === 'Bearer-trailing-space';

/**
 * Whether the token is exactly valid for the fuzz policy: the right key with RS256, `iss` exact,
 * `aud` holding the audience, `exp` after now less the leeway, `nbf` and `iat` not after now plus
 * the leeway, `jti` a non-empty string never spent, and the claims of one pipeline exactly.
 */
export function oracle(keys: FuzzKeys, built: BuiltToken, spent: SpentJtis): Verdict {
  const invalid = (why: string): Verdict => ({ valid: false, why });
  if (!framingKeepsToken(built.framing)) return invalid(`framing ${built.framing}`);
  if (built.token !== built.canonical) return invalid('not the canonical compact serialization');
  const header = parse(built.headerText);
  if (!isObject(header)) return invalid('header is not a JSON object');
  if (own(header, 'alg') !== 'RS256') return invalid('alg is not RS256');
  if (Object.hasOwn(header, 'crit')) return invalid('crit names extensions');
  if (Object.hasOwn(header, 'b64')) return { ambiguous: 'b64 without crit' };
  if (built.signer !== 'RS256') return invalid(`signed by ${built.signer}`);
  const claims = parse(built.payloadText);
  if (!isObject(claims)) return invalid('payload is not a JSON object');
  if (own(claims, 'iss') !== keys.issuer) return invalid('iss');
  const aud = own(claims, 'aud');
  if (Array.isArray(aud) && aud.includes(AUDIENCE) && !allStrings(aud)) return { ambiguous: 'aud holds the audience and non-strings' };
  if (!(aud === AUDIENCE || (allStrings(aud) && aud.includes(AUDIENCE)))) return invalid('aud');
  const now = built.now;
  const exp = own(claims, 'exp');
  if (typeof exp !== 'number') return invalid('exp missing or not a number');
  if (exp === Infinity) return { ambiguous: 'exp is infinite' };
  if (exp <= now - LEEWAY) return invalid('expired');
  for (const claim of ['nbf', 'iat']) {
    const v = own(claims, claim);
    if (v === undefined) continue;
    if (typeof v !== 'number') return invalid(`${claim} not a number`);
    if (v > now + LEEWAY + MARGIN) return invalid(`${claim} in the future`);
    if (v > now + LEEWAY) return { ambiguous: `${claim} near the leeway boundary` };
  }
  const jti = own(claims, 'jti');
  if (typeof jti !== 'string' || jti.length === 0) return invalid('jti missing, empty or not a string');
  const spentExp = spent.get(jti);
  if (spentExp !== undefined) {
    // After the earlier token has gone past its expiry and leeway, whether its jti is free again is not settled.
    if (Math.floor(Date.now() / 1000) >= spentExp + LEEWAY - MARGIN) return { ambiguous: 'jti spent by a token now expired' };
    return invalid('jti spent before');
  }
  const fits = pipelineFits(claims);
  if (fits !== true) return fits === 'ambiguous' ? { ambiguous: 'a claim array holds the matched value' } : invalid('no pipeline fits');
  return { valid: true, jti, exp };
}

function pipelineFits(claims: Record<string, unknown>): boolean | 'ambiguous' {
  const repository = own(claims, 'repository');
  const ref = own(claims, 'ref');
  const sub = own(claims, 'sub');
  const isGlob = (v: unknown) => typeof v === 'string' && v.startsWith(GLOB_PREFIX) && v.length > GLOB_PREFIX.length && !/[/:]/.test(v.slice(GLOB_PREFIX.length));
  if (repository === targets.web.repository && ref === targets.web.ref) return true;
  if (sub === targets.sub.sub) return true;
  if (isGlob(repository)) return true;
  // Array claims match by element (for groups); an array holding the exact value is left out.
  const holds = (v: unknown, test: (x: unknown) => boolean) => allStrings(v) && v.some(test);
  if (holds(repository, (x) => x === targets.web.repository || isGlob(x)) || holds(sub, (x) => x === targets.sub.sub)
    || holds(ref, (x) => x === targets.web.ref) || (typeof repository === 'string' && repository === GLOB_PREFIX)) return 'ambiguous';
  return false;
}

// ---- the arbitraries ----------------------------------------------------------------------------

const json = (v: unknown): Value => ({ json: v });
const raw = (v: string): Value => ({ raw: v });

/** Odd values of any type, for any claim. */
export const oddValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Value>(
    json(''), json(' '), json('\t\n'), json('\u0000'), json('x'.repeat(10_000)), json(0), json(-1), json(1e308), json(-1e308),
    json(1.5), json(true), json(false), json(null), json([]), json({}), json([[[]]]), json([null]), json({ '': '' }),
    json('NaN'), json('Infinity'), json('null'), raw('1e999'), raw('-1e999'), raw('-0'), raw('1E+2'),
  ) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
);

/** Look-alikes of a string: case, slashes, dot segments, whitespace, NUL and unicode confusables. */
export function lookAlikes(value: string): fc.Arbitrary<string> {
  const confusables: [string, string][] = [['a', '\u0430'], ['e', '\u0435'], ['o', '\u043e'], ['/', '\u2215'], ['/', '\uff0f'], ['c', '\u0441'], ['p', '\u0440']];
  return fc.oneof(
    fc.constantFrom(
      value.toUpperCase(), `${value[0]!.toUpperCase()}${value.slice(1)}`, `${value}/`, `/${value}`, `${value}/..`, `${value}/../${value.split('/').at(-1)}`,
      value.replace('/', '//'), ` ${value}`, `${value} `, `${value}\u0000`, `${value}\n`, `${value}\u200b`, `\u202e${value}`,
      value.normalize('NFD'), value.replace(/[a-z]/, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)), `${value}*`, value.slice(0, -1),
      `${value}x`, `${value}:`, `${value}%00`, value.replace('/', '\\'), '',
    ),
    fc.constantFrom(...confusables).filter(([from]) => value.includes(from)).map(([from, to]) => value.replace(from, to)),
  ).filter((v) => v !== value);
}

/** Time values for exp: far and near, past and future, each side of the leeway, with odd types. */
const expValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(-LEEWAY, -LEEWAY - 1, -LEEWAY - 60, -LEEWAY + MARGIN, -1, 0, 1, LEEWAY, 600, 3600, 600.5, -LEEWAY - 0.5)
    .map((rel): Value => ({ rel })) },
  fc.integer({ min: -100_000_000, max: -LEEWAY }).map((rel): Value => ({ rel })),
  fc.integer({ min: -LEEWAY + MARGIN, max: 0 }).map((rel): Value => ({ rel })),
  fc.integer({ min: 1, max: 100_000_000 }).map((rel): Value => ({ rel })),
  fc.constantFrom(json(0), json(-1), json(1), json(1e308), json(2 ** 53), json(8.64e12), raw('-1e999'), json('NaN')),
  oddValue.filter((v) => !('raw' in v && v.raw === '1e999')),
);

/** Time values for nbf and iat; never within MARGIN past the leeway, where the answer depends on the clock. */
const notBeforeValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(-LEEWAY - 1, -1, 0, 1, LEEWAY, LEEWAY + MARGIN + 1, 3600, 0.5, LEEWAY + 60).map((rel): Value => ({ rel })) },
  fc.integer({ min: -100_000_000, max: LEEWAY }).map((rel): Value => ({ rel })),
  fc.integer({ min: LEEWAY + MARGIN + 1, max: 100_000_000 }).map((rel): Value => ({ rel })),
  fc.constantFrom(json(0), json(-1), json(1e308), json(2 ** 53), raw('1e999'), raw('-1e999')),
  oddValue,
);

const edit = (key: string, value: fc.Arbitrary<Value>) =>
  fc.oneof(
    { weight: 6, arbitrary: value.map((v): Edit => ({ key, op: 'set', value: v })) },
    { weight: 1, arbitrary: fc.constant<Edit>({ key, op: 'delete' }) },
    { weight: 1, arbitrary: value.map((v): Edit => ({ key, op: 'before', value: v })) },
    { weight: 1, arbitrary: value.map((v): Edit => ({ key, op: 'after', value: v })) },
  );

export function issValue(issuer: string): fc.Arbitrary<Value> {
  return fc.oneof(
    lookAlikes(issuer).map(json),
    fc.constantFrom(json(issuer.replace('https:', 'http:')), json([issuer]), json({ iss: issuer }), json(issuer.replace('.test', '.test.')), { issuer }),
    oddValue,
  );
}

const audValue: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(json(AUDIENCE), json([AUDIENCE]), json(['other', AUDIENCE]), json(['other']), json([]), json([[AUDIENCE]]),
    json('Kubevend'), json(`${AUDIENCE} `), json(`${AUDIENCE}\u0000`), json({ aud: AUDIENCE }), json(`${AUDIENCE},other`)),
  fc.array(fc.string(), { maxLength: 4 }).map(json),
  lookAlikes(AUDIENCE).map(json),
  oddValue,
);

const jtiValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(json(''), json(' '), json('\u0000'), json(0), json(1), json(null), json([]), json({}), json(true), { fresh: true } as Value) },
  { weight: 2, arbitrary: fc.uuid().chain((u) => fc.constantFrom(json(` ${u}`), json(`${u}\u0000`), json(`${'j'.repeat(4000)}${u}`), json(`\u0430${u}`), json([u]))) },
  { weight: 1, arbitrary: oddValue },
);

/** A claim value of a pipeline's matchers: the right one, or a look-alike, another type, or an array without it. */
function matchedValue(value: string): fc.Arbitrary<Value> {
  return fc.oneof(
    lookAlikes(value).map(json),
    fc.constantFrom(json([`${value}/`]), json([[value]]), json([value, 5]), json({ value }), json(value.length), { json: value } as Value),
    oddValue.filter((v) => !('json' in v && allStrings(v.json) && v.json.includes(value))),
  );
}

export const targetArb = fc.constantFrom<Target>('web', 'web', 'sub', 'glob');

/** The baseline: a valid token for the target's pipeline (or operator). */
export const validPlan = (target: Target): TokenPlan => ({ target, header: [], claims: [], signer: 'RS256', encoding: 'as-is', framing: 'Bearer' });
const baseplan = validPlan;

/** The mutation families: each keeps the rest of the baseline valid, so each finds its own defects. */
export function registeredClaimPlans(issuer: string): fc.Arbitrary<TokenPlan> {
  const claimEdit = fc.oneof(edit('iss', issValue(issuer)), edit('aud', audValue), edit('sub', oddValue), edit('jti', jtiValue));
  return fc.tuple(targetArb, fc.array(claimEdit, { minLength: 1, maxLength: 3 })).map(([t, claims]) => ({ ...baseplan(t), claims }));
}

export const expPlans: fc.Arbitrary<TokenPlan> = fc.tuple(targetArb, edit('exp', expValue))
  .map(([t, e]) => ({ ...baseplan(t), claims: [e] }));

export const notBeforePlans: fc.Arbitrary<TokenPlan> = fc.tuple(targetArb, fc.array(fc.oneof(edit('nbf', notBeforeValue), edit('iat', notBeforeValue)), { minLength: 1, maxLength: 2 }))
  .map(([t, claims]) => ({ ...baseplan(t), claims }));

const headerValue: fc.Arbitrary<Edit> = fc.oneof(
  edit('alg', fc.oneof(fc.constantFrom('RS256', 'RS384', 'PS256', 'ES256', 'HS256', 'none', 'None', 'NONE', 'rs256', 'RS256 ', 'RS256\u0000', '').map(json), oddValue)),
  edit('kid', fc.oneof(fc.constantFrom(json('1'), json('../../../etc/passwd'), json('\u0000'), json("' OR 1=1 --")), oddValue)),
  edit('typ', fc.oneof(fc.constantFrom(json('JWT'), json('at+jwt'), json('JWS'), json('jwt')), oddValue)),
  edit('jku', fc.constantFrom(json('https://attacker.example/jwks.json'), json('http://127.0.0.1:1/jwks'), json(''))),
  edit('x5u', fc.constantFrom(json('https://attacker.example/cert.pem'), json(''))),
  edit('x5c', fc.constantFrom(json(['MIIB']), json([]))),
);

export function headerPlans(keys: FuzzKeys): fc.Arbitrary<TokenPlan> {
  const critEdits = fc.constantFrom<Edit[]>(
    [{ key: 'crit', op: 'set', value: json(['b64']) }, { key: 'b64', op: 'set', value: json(false) }],
    [{ key: 'crit', op: 'set', value: json(['exp']) }],
    [{ key: 'crit', op: 'set', value: json([]) }],
    [{ key: 'crit', op: 'set', value: json('b64') }, { key: 'b64', op: 'set', value: json(false) }],
    [{ key: 'crit', op: 'set', value: json(['x-kubevend']) }, { key: 'x-kubevend', op: 'set', value: json(1) }],
    [{ key: 'crit', op: 'set', value: json([5]) }],
  );
  const jwkEdit = fc.constant<Edit>({ key: 'jwk', op: 'after', value: json(keys.attackerJwk) });
  const signer = fc.constantFrom<Signer>('RS256', 'RS256', 'RS384', 'PS256', 'ES256-other', 'RS256-attacker', 'HS256-public-key', 'none', 'garbage', 'truncated');
  const wholeHeader = fc.option(fc.constantFrom('[]', 'null', '"RS256"', 'not json', '{}', '{"alg":"RS256"', '{"alg":"RS256","alg":"none"}', '{"alg":"none","alg":"RS256"}'), { nil: undefined, freq: 8 });
  return fc.record({
    target: targetArb,
    header: fc.array(fc.oneof({ weight: 5, arbitrary: headerValue }, { weight: 1, arbitrary: jwkEdit }, { weight: 1, arbitrary: critEdits.map((e) => e[0]!) }), { maxLength: 3 }),
    crit: fc.option(critEdits, { freq: 4 }),
    headerText: wholeHeader,
    signer,
  }).map(({ target, header, crit, headerText, signer: s }) => ({
    ...baseplan(target),
    // A lone b64 without crit is left out (its validity is not settled); a crit edit brings its b64 with it.
    header: [...header.filter((e) => e.key !== 'b64'), ...(crit ?? [])],
    signer: s,
    ...(headerText ? { headerText } : {}),
  }));
}

export const matchingClaimPlans: fc.Arbitrary<TokenPlan> = fc.tuple(
  targetArb,
  fc.array(fc.oneof(
    edit('repository', fc.oneof(matchedValue(targets.web.repository), matchedValue(`${GLOB_PREFIX}deploy`),
      fc.constantFrom(`${GLOB_PREFIX}deploy/..`, `${GLOB_PREFIX}../acme/web`, `${GLOB_PREFIX}a:b`, 'acme-ops', `ACME-OPS/deploy`, `${GLOB_PREFIX}deploy/x`).map(json),
      fc.stringMatching(/^[a-z0-9._-]{1,20}$/).map((s) => json(`${GLOB_PREFIX}${s}`)))),
    edit('ref', matchedValue(targets.web.ref)),
    edit('sub', matchedValue(targets.sub.sub)),
    fc.constant<Edit>({ key: '__proto__', op: 'after', value: json({ repository: targets.web.repository, ref: targets.web.ref }) }),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
      .map((extra): Edit => ({ key: Object.keys(extra)[0] ?? 'extra', op: 'after', value: json(Object.values(extra)[0] ?? null) })),
  ), { minLength: 1, maxLength: 4 }),
).map(([t, claims]) => ({ ...baseplan(t), claims }));

const encodings: Encoding[] = ['as-is', 'trailing-dot', 'leading-dot', 'double-dot', 'fourth-segment', 'pad-header', 'pad-payload',
  'pad-signature', 'signature-trailing-bits', 'inner-space', 'inner-tab', 'standard-base64', 'very-long', 'empty-signature'];
const framings: Framing[] = ['Bearer', 'bearer', 'Bearer-two-spaces', 'Bearer-trailing-space', 'Basic', 'bare', 'absent'];

export const encodingPlans: fc.Arbitrary<TokenPlan> = fc.record({
  target: targetArb,
  encoding: fc.constantFrom(...encodings),
  framing: fc.oneof({ weight: 4, arbitrary: fc.constant<Framing>('Bearer') }, { weight: 1, arbitrary: fc.constantFrom(...framings) }),
  // Padding claims so that the segments' lengths vary (and with them base64's padding).
  pad: fc.string({ maxLength: 3 }),
}).map(({ target, encoding, framing, pad }) => ({ ...baseplan(target), encoding, framing, claims: [{ key: 'pad', op: 'after', value: json(pad) }] }));

/** Every family at once, so that mutations meet. */
export function anyPlans(keys: FuzzKeys): fc.Arbitrary<TokenPlan> {
  return fc.tuple(registeredClaimPlans(keys.issuer), expPlans, notBeforePlans, headerPlans(keys), matchingClaimPlans, encodingPlans,
    fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }))
    .map(([a, b, c, d, e, f, pick]) => {
      const use = (i: number) => pick[i] === true;
      return {
        target: a.target,
        claims: [...(use(0) ? a.claims : []), ...(use(1) ? b.claims : []), ...(use(2) ? c.claims : []), ...(use(4) ? e.claims : [])],
        header: use(3) ? d.header : [],
        ...(use(3) && d.headerText ? { headerText: d.headerText } : {}),
        signer: use(3) ? d.signer : 'RS256',
        encoding: use(5) ? f.encoding : 'as-is',
        framing: use(5) ? f.framing : 'Bearer',
      };
    });
}

/** A short, readable account of a built token for failure messages. */
export function describeToken(built: BuiltToken): string {
  const cut = (s: string) => (s.length > 600 ? `${s.slice(0, 600)}… (${s.length} chars)` : s);
  return [
    `header: ${cut(built.headerText)}`, `payload: ${cut(built.payloadText)}`, `signer: ${built.signer}`,
    `framing: ${built.framing}`, `token changed by encoding: ${built.token !== built.canonical}`, `token (${built.token.length} chars): ${cut(JSON.stringify(built.token))}`,
    `built at: ${built.now}`,
  ].join('\n');
}
