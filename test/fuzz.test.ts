import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { problemCodes } from '../src/errors.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import {
  anyPlans, AUDIENCE, buildToken, createFuzzKeys, describeToken, encodingPlans, expPlans, fuzzPipelines, headerPlans, LEEWAY,
  matchingClaimPlans, notBeforePlans, oracle, registeredClaimPlans, validPlan,
  type FuzzKeys, type SpentJtis, type Target, type TokenPlan,
} from './helpers/fuzz-token.ts';
import { scratchDir, startKubevend, type Kubevend } from './helpers/kubevend.ts';

// Adversarial fuzzing of the running app: a real policy, SQLite store and control plane, driven with
// generated tokens and requests. KUBEVEND_FUZZ_RUNS raises the runs of every property,
// KUBEVEND_FUZZ_SEED (and KUBEVEND_FUZZ_PATH, with `-t` for one property) replays a failure.

const seed = process.env.KUBEVEND_FUZZ_SEED ? Number(process.env.KUBEVEND_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const fuzzPath = process.env.KUBEVEND_FUZZ_PATH;
const fuzzRuns = Number(process.env.KUBEVEND_FUZZ_RUNS) || undefined;
console.log(`fuzz: seed ${seed}${fuzzPath ? ` path ${fuzzPath}` : ''}; replay with KUBEVEND_FUZZ_SEED=${seed}`);

const settings = (numRuns: number) => ({ seed, numRuns: fuzzRuns ?? numRuns, ...(fuzzPath ? { path: fuzzPath } : {}) });
/** Time for a property: generous per run, so that a raised KUBEVEND_FUZZ_RUNS is not cut short. */
const timeout = (numRuns: number) => Math.max(60_000, (fuzzRuns ?? numRuns) * 500);
const cut = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

interface Answer { status: number; contentType: string; body: string }

let addresses = 0;
/**
 * A client address of its own for each request (10.0.0.0/8 injected, 127.0.0.0/8 over the socket):
 * the per-address limit of failed authentications is a defence of its own, and would otherwise
 * answer 429 to everything after the first few dozen refusals.
 */
const nextAddress = (prefix: 10 | 127) => {
  const n = ++addresses;
  return `${prefix}.${(n >> 16) & 255}.${(n >> 8) & 255}.${(n & 255) || 1}`;
};

describe('kubevend under generated input', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let keys: FuzzKeys;
  let kv: Kubevend;
  let ns: string;
  let base: string;
  const spent: SpentJtis = new Map();
  /** Issuance ids answered so far, for the routes that take one. */
  const issued: string[] = [];

  beforeAll(async () => {
    scratch = await scratchDir();
    keys = createFuzzKeys(`https://ci-fuzz.example.test`);
    const publicKeyFile = join(scratch.dir, 'ci.pub.pem');
    await writeFile(publicKeyFile, keys.publicPem);
    ns = await createNamespace('fuzz');
    await createViewerServiceAccount(ns, 'deployer');
    const grants = [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer' }];
    // A limit no run reaches: a 429 would hide what the token itself deserves.
    const rateLimit = { requests: 1_000_000, per: '1m' };
    kv = await startKubevend(scratch.dir, {
      issuers: [{ name: 'ci', issuer: keys.issuer, audiences: [AUDIENCE], publicKeyFile, algorithms: ['RS256'], leewaySeconds: LEEWAY }],
      clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
      pipelines: fuzzPipelines.map((p) => ({ ...p, issuer: 'ci', grants, rateLimit })),
      operators: [
        { name: 'fuzz-admin', issuer: 'ci', match: { repository: 'acme/platform-ops' }, role: 'admin' },
        { name: 'fuzz-auditor', issuer: 'ci', match: { repository: 'acme/audit' }, role: 'auditor' },
      ],
    });
    base = await kv.app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await kv?.close();
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  const credentials = async (authorization: string | undefined): Promise<Answer> => {
    const res = await kv.app.inject({
      method: 'POST', url: '/v1/credentials', remoteAddress: nextAddress(10), headers: authorization === undefined ? {} : { authorization }, payload: {},
    });
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body };
  };

  /** Property 1: a 2xx only for an exactly valid, unspent token of a fitting pipeline, and never twice. */
  async function onlyValidTokensIssue(plan: TokenPlan): Promise<void> {
    const built = buildToken(keys, plan);
    const verdict = oracle(keys, built, spent);
    fc.pre(!('ambiguous' in verdict));
    const first = await credentials(built.authorization);
    if (first.status < 200 || first.status >= 300) return;
    const account = `answered ${first.status} (${cut(first.body, 200)}) for a token the oracle calls `
      + `${'why' in verdict ? `invalid: ${verdict.why}` : 'valid'}\n${describeToken(built)}`;
    expect('valid' in verdict && verdict.valid, account).toBe(true);
    if (!('jti' in verdict)) return;
    spent.set(verdict.jti, verdict.exp);
    const id = (JSON.parse(first.body) as { issuanceId?: string }).issuanceId;
    if (id) issued.push(id);
    const again = await credentials(built.authorization);
    // Only a token that has since run past its leeway may be refused as expired instead.
    const expiredSince = Math.floor(Date.now() / 1000) >= verdict.exp + LEEWAY - 1;
    const code = again.status === 401 ? (JSON.parse(again.body) as { code?: string }).code : undefined;
    expect(again.status === 401 && (code === 'token_replayed' || (expiredSince && code === 'token_expired')),
      `the same token a second time answered ${again.status} (${cut(again.body, 200)})\n${describeToken(built)}`).toBe(true);
  }

  describe('POST /v1/credentials: only an exactly valid, unspent token for a fitting grant gets a 2xx', () => {
    const families: [string, () => fc.Arbitrary<TokenPlan>, number][] = [
      ['registered claims (iss, aud, sub, jti) take edge values and odd types', () => registeredClaimPlans(keys.issuer), 150],
      ['exp moves around now, the leeway and far away, or takes odd types', () => expPlans, 150],
      ['nbf and iat move around now, the leeway and far away, or take odd types', () => notBeforePlans, 150],
      ['the header\'s alg, kid, typ, crit, jku, x5u, jwk or b64 change, or another key or algorithm signs', () => headerPlans(keys), 150],
      ['the pipeline\'s claims are replaced by look-alikes, duplicated or shadowed', () => matchingClaimPlans, 150],
      ['the token\'s encoding changes (dots, padding, whitespace, standard base64, length, framing)', () => encodingPlans, 100],
      ['mutations of every kind combine', () => anyPlans(keys), 200],
    ];
    it.each(families)('when %s, then only a valid token is answered 2xx, and only once', async (_, plans, runs) => {
      await fc.assert(fc.asyncProperty(plans(), onlyValidTokensIssue), settings(runs));
    }, timeout(200));
  });

  // ---- property 2: no 5xx, and every 4xx is problem+json with a code -------------------------------

  type Auth = { target: Target } | { plan: TokenPlan } | { junk: string } | { absent: true };
  type Body = { json: unknown } | { text: string; contentType?: string } | undefined;
  interface RequestPlan { method: 'GET' | 'POST' | 'DELETE'; url: string; body: Body; auth: Auth; accept?: string }

  const authorization = (auth: Auth): string | undefined => {
    if ('absent' in auth) return undefined;
    if ('junk' in auth) return auth.junk;
    return buildToken(keys, 'target' in auth ? validPlan(auth.target) : auth.plan).authorization;
  };

  const oddText = fc.oneof(
    fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('', ' ', '\u0000', '..', '../..', '%', '%00', '%zz', '%2F', 'null', 'undefined', 'NaN', '-1', '0', '1e308', '0x10',
      '__proto__', 'constructor', 'local', 'fuzz-web', 'x'.repeat(300), '\u202e', '\ud800', 'a/b', 'a?b', 'a#b', 'a&b=c'),
  );
  const oddJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), oddText, fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0, 0.5, -1, 0, 600, 599, 1e21, true, null, [], {}));
  /** Nested arrays or objects, as deep as fits well within the 64 KiB body limit. */
  const deep = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean())
    .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

  const askFields = {
    cluster: fc.oneof(fc.constant('local'), oddJson), namespace: fc.oneof(fc.constant('x'), oddJson), serviceAccount: fc.oneof(fc.constant('deployer'), oddJson),
    ttlSeconds: fc.oneof(fc.integer(), fc.double(), oddJson), audiences: fc.oneof(fc.array(oddText, { maxLength: 20 }), oddJson),
    kind: fc.oneof(fc.constantFrom('short-lived', 'durable'), oddJson), clusters: fc.oneof(fc.array(fc.oneof(fc.constant('local'), oddText), { maxLength: 18 }), oddJson),
    format: fc.oneof(fc.constantFrom('json', 'kubeconfig', 'exec-credential', 'env'), oddJson),
  };
  const identityField = fc.oneof(
    fc.record({ issuer: fc.oneof(fc.constant('ci'), oddJson), claims: fc.oneof(fc.dictionary(oddText, oddJson, { maxKeys: 6 }), oddJson) }, { requiredKeys: [] }),
    oddJson,
  );
  const unknownFields = fc.dictionary(fc.string({ maxLength: 10 }), oddJson, { maxKeys: 3 });
  const object = (fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc.tuple(fc.record(fields, { requiredKeys: [] }), fc.option(unknownFields, { freq: 4 })).map(([known, extra]) => ({ ...known, ...extra }));
  const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/JSON', 'text/plain', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/problem+json', 'application/merge-patch+json');
  const rawBodies = fc.oneof(
    fc.constantFrom('', '{', 'null', '[]', '"x"', '1', 'true', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"a":1,"a":2}', '\u0000', '{}garbage'),
    deep, fc.string({ maxLength: 200 }), fc.constantFrom(63 * 1024, 64 * 1024 + 1, 200 * 1024).map((n) => `{"cluster":"${'x'.repeat(n)}"}`),
  );
  const bodyOf = (json: fc.Arbitrary<unknown>): fc.Arbitrary<Body> => fc.oneof(
    { weight: 6, arbitrary: json.map((j): Body => ({ json: j })) },
    { weight: 1, arbitrary: oddJson.map((j): Body => ({ json: j })) },
    { weight: 2, arbitrary: fc.tuple(rawBodies, fc.option(contentTypes, { freq: 5 })).map(([text, ct]): Body => ({ text, ...(ct ? { contentType: ct } : {}) })) },
    { weight: 1, arbitrary: fc.constant<Body>(undefined) },
  );

  /** Tokens of every mutation family; `keys` exists only once the suite has started, hence the deferral. */
  const mutatedTokens: fc.Arbitrary<Auth> = fc.constant(null)
    .chain(() => fc.oneof(registeredClaimPlans(keys.issuer), expPlans, notBeforePlans, headerPlans(keys), matchingClaimPlans, encodingPlans, anyPlans(keys)))
    .map((plan): Auth => ({ plan }));
  const auths: fc.Arbitrary<Auth> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<Target>('web', 'sub', 'glob', 'admin').map((target): Auth => ({ target })) },
    { weight: 2, arbitrary: mutatedTokens },
    {
      weight: 2,
      arbitrary: fc.oneof(oddText, fc.constantFrom('Bearer', 'Bearer ', 'Bearer a.b.c', 'Bearer ..', 'Bearer eyJhbGciOiJub25lIn0.e30.', `Bearer ${'x'.repeat(17_000)}`,
        'Basic dXNlcjpwYXNz', 'Bearer null', 'Bearer\u0000x'), oddText.map((t) => `Bearer ${t}`)).map((junk): Auth => ({ junk })),
    },
    { weight: 1, arbitrary: fc.constant<Auth>({ absent: true }) },
  );

  const idTexts = fc.oneof(
    fc.stringMatching(/^[0-9a-z]{26}$/),
    fc.nat().map((i) => issued[i % Math.max(issued.length, 1)] ?? '0'.repeat(26)),
    oddText.map((t) => encodeURIComponent(t.toWellFormed())),
    fc.constantFrom('..', '.', '%00', '%2F', '%2e%2e', '%', 'a/b', 'A'.repeat(26), '0'.repeat(25), '0'.repeat(27), 'x'.repeat(5000), '%F0%9F%98%80', '%C0%AF'),
  );
  const queryKeys = (known: string[]) => (known.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: oddText }) : oddText);
  const queries = (known: string[]) => fc.oneof(
    fc.array(fc.tuple(queryKeys(known), fc.oneof(oddText, fc.constantFrom('1', '500', '501', '0', '-1', '1.5', '1e3', 'NaN', ' 1', 'Infinity', '2026-01-01T00:00:00Z',
      '2026-13-45T99:99:99Z', '2026-01-01T00:00:00+25:00', 'active', 'granted', 'eyJ4IjoxfQ', ''))), { maxLength: 5 })
      .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k.toWellFormed())}=${encodeURIComponent(v.toWellFormed())}`).join('&')}` : '')),
    fc.constantFrom('?', '?&&', '?=', '?limit', '?limit[]=1', '?__proto__[x]=1', '?limit=1&limit=2', '?cursor=%', '?%zz=1', `?cursor=${'A'.repeat(200)}`),
  );

  const issuanceQuery = ['pipeline', 'cluster', 'state', 'cursor', 'limit'];
  const auditQuery = ['pipeline', 'repository', 'project', 'cluster', 'namespace', 'outcome', 'kind', 'issuanceId', 'from', 'to', 'cursor', 'limit'];
  const noBody = fc.option(bodyOf(oddJson), { freq: 8, nil: undefined });

  const routes: Record<string, fc.Arbitrary<Omit<RequestPlan, 'auth'>>> = {
    'POST /v1/credentials': bodyOf(object(askFields)).map((body) => ({ method: 'POST', url: '/v1/credentials', body })),
    'POST /v1/explain': bodyOf(object({ ...askFields, identity: identityField })).map((body) => ({ method: 'POST', url: '/v1/explain', body })),
    'POST /v1/issuances/revoke': bodyOf(object({ pipeline: fc.oneof(fc.constantFrom('fuzz-sub', 'nothing'), oddJson), cluster: fc.oneof(fc.constant('local'), oddJson) }))
      .map((body) => ({ method: 'POST', url: '/v1/issuances/revoke', body })),
    'POST /v1/issuances/{id}/rotate': fc.tuple(idTexts, bodyOf(object({ format: askFields.format })))
      .map(([id, body]) => ({ method: 'POST', url: `/v1/issuances/${id}/rotate`, body })),
    'DELETE /v1/issuances/{id}': fc.tuple(idTexts, noBody).map(([id, body]) => ({ method: 'DELETE', url: `/v1/issuances/${id}`, body })),
    'GET /v1/issuances/{id}': fc.tuple(idTexts, noBody).map(([id, body]) => ({ method: 'GET', url: `/v1/issuances/${id}`, body })),
    'GET /v1/issuances': fc.tuple(queries(issuanceQuery), noBody).map(([q, body]) => ({ method: 'GET', url: `/v1/issuances${q}`, body })),
    'GET /v1/audit': fc.tuple(queries(auditQuery), fc.option(fc.constantFrom('application/x-ndjson', 'application/json', '*/*', 'text/html'), { nil: undefined }))
      .map(([q, accept]) => ({ method: 'GET', url: `/v1/audit${q}`, body: undefined, ...(accept ? { accept } : {}) })),
    'GET /v1/audit/verify': queries([]).map((q) => ({ method: 'GET', url: `/v1/audit/verify${q}`, body: undefined })),
    'GET /v1/suspensions': queries([]).map((q) => ({ method: 'GET', url: `/v1/suspensions${q}`, body: undefined })),
    'DELETE /v1/suspensions/{pipeline}': fc.tuple(idTexts, queries(['cluster']), noBody)
      .map(([pipeline, q, body]) => ({ method: 'DELETE', url: `/v1/suspensions/${pipeline}${q}`, body })),
  };

  const requests = (route: fc.Arbitrary<Omit<RequestPlan, 'auth'>>): fc.Arbitrary<RequestPlan> =>
    fc.tuple(route, auths).map(([r, auth]) => ({ ...r, auth }));

  function expectProblemShape(answer: Answer, plan: RequestPlan, authorization: string | undefined): void {
    const account = `${plan.method} ${cut(plan.url, 200)} with body ${cut(JSON.stringify(plan.body) ?? 'none', 300)} and authorization `
      + `${cut(JSON.stringify(authorization) ?? 'none', 300)}\nanswered ${answer.status} ${answer.contentType}: ${cut(answer.body)}`;
    expect(answer.status, account).toBeLessThan(500);
    if (answer.status < 400) return;
    expect(answer.contentType, account).toMatch(/^application\/problem\+json/);
    let code: unknown;
    try {
      code = (JSON.parse(answer.body) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    expect(problemCodes, account).toContain(code);
  }

  async function injected(plan: RequestPlan): Promise<void> {
    const auth = authorization(plan.auth);
    const headers: Record<string, string> = { ...(auth === undefined ? {} : { authorization: auth }), ...(plan.accept ? { accept: plan.accept } : {}) };
    const body = plan.body;
    let payload: string | undefined;
    if (body && 'json' in body) {
      payload = JSON.stringify(body.json) ?? 'null';
      headers['content-type'] = 'application/json';
    } else if (body) {
      payload = body.text;
      if (body.contentType) headers['content-type'] = body.contentType;
    }
    const res = await kv.app.inject({ method: plan.method, url: plan.url, remoteAddress: nextAddress(10), headers, ...(payload === undefined ? {} : { payload }) });
    expectProblemShape({ status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body }, plan, auth);
  }

  describe('every route: no 5xx, and every 4xx is problem+json with a code', () => {
    it.each(Object.keys(routes))('when %s gets generated bodies, queries, ids and tokens, then it answers no 5xx and only problems as 4xx', async (name) => {
      await fc.assert(fc.asyncProperty(requests(routes[name]!), injected), settings(120));
    }, timeout(120));

    it.each(['/v1/credentials', '/v1/explain'])('when POST %s gets tokens of every mutation family, then it answers no 5xx and only problems as 4xx', async (url) => {
      const plans = fc.tuple(mutatedTokens, fc.oneof({ weight: 3, arbitrary: fc.constant<Body>({ json: {} }) }, { weight: 1, arbitrary: bodyOf(object(askFields)) }))
        .map(([auth, body]): RequestPlan => ({ method: 'POST', url, body, auth }));
      await fc.assert(fc.asyncProperty(plans, injected), settings(150));
    }, timeout(150));
  });

  /** Over a real socket, header values must be bytes fetch can send; oversized heads reach Node's own parser. */
  const sendable = (value: string) => value.replace(/[^\x20-\x7e]/g, '?');
  const oversized = fc.oneof(
    fc.constant({}),
    fc.constantFrom(8 * 1024, 17 * 1024, 70 * 1024).map((n) => ({ 'x-padding': 'x'.repeat(n) })),
    fc.integer({ min: 50, max: 400 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v'.repeat(64)]))),
  );

  async function overSocket([plan, extra, longQuery]: [RequestPlan, Record<string, string>, number]): Promise<void> {
    const auth = authorization(plan.auth);
    const headers: Record<string, string> = { ...extra, ...(auth === undefined ? {} : { authorization: sendable(auth) }), ...(plan.accept ? { accept: plan.accept } : {}) };
    let body: string | undefined;
    if (plan.method !== 'GET' && plan.body !== undefined) {
      body = 'json' in plan.body ? JSON.stringify(plan.body.json) ?? 'null' : plan.body.text;
      headers['content-type'] = 'json' in plan.body ? 'application/json' : (plan.body.contentType ?? 'text/plain');
    }
    const url = `${base}${plan.url}${longQuery ? `${plan.url.includes('?') ? '&' : '?'}pad=${'p'.repeat(longQuery)}` : ''}`;
    const dispatcher = new Agent({ connect: { localAddress: nextAddress(127) } });
    let answer: Answer;
    try {
      const res = await fetch(url, { method: plan.method, headers, dispatcher, ...(body === undefined ? {} : { body }) });
      answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
    } finally {
      await dispatcher.close();
    }
    expectProblemShape(answer, { ...plan, url: `${plan.url} (+${longQuery} query bytes, ${Object.keys(extra).length} extra headers of ${JSON.stringify(extra).length} bytes)` }, auth);
  }

  it('when requests arrive over a real socket, some with oversized headers or URLs, then none is answered 5xx and every 4xx is problem+json', async () => {
    const socketRequests = fc.tuple(
      fc.constantFrom(...Object.values(routes)).chain(requests),
      fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: oversized }),
      fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(9_000, 20_000, 70_000) }),
    );
    await fc.assert(fc.asyncProperty(socketRequests, overSocket), settings(150));
  }, timeout(150));
});
