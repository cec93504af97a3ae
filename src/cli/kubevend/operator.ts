import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { jobToken } from './ci.ts';
import type { CommandContext } from './context.ts';
import { askFlags, askOf } from './credentials.ts';
import { CliError } from './exit.ts';
import { loginFlags, operatorToken } from './login.ts';
import { parseFlags, serviceFlags, serviceOf, tokenFlags } from './options.ts';
import { outputOf, printable, render, type Column, type Row } from './output.ts';
import { callService, sleep } from './service.ts';

const operatorFlags = { ...serviceFlags, ...loginFlags, 'token-file': tokenFlags['token-file'], 'token-env': tokenFlags['token-env'] } as const;

function operatorCall(values: Parameters<typeof operatorToken>[0] & { url?: string | undefined; deadline?: string | undefined }, ctx: CommandContext) {
  const service = serviceOf(values, ctx.env, ctx.say);
  const token = () => operatorToken(values, ctx);
  return {
    service,
    async json<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const response = await callService(service, { method, path, token, ...(body === undefined ? {} : { body }) });
      return (await response.json()) as T;
    },
    stream: (path: string) => callService(service, { method: 'GET', path, token, accept: 'application/x-ndjson' }),
  };
}

const query = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams(Object.entries(params).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
  return search.size ? `?${search}` : '';
};

const auditColumns: Column[] = [
  ['ID', (r) => r.id], ['TIME', (r) => r.time], ['KIND', (r) => r.kind], ['OUTCOME', (r) => r.outcome],
  ['PIPELINE', (r) => r.pipeline], ['CLUSTER', (r) => r.cluster], ['NAMESPACE', (r) => r.namespace],
  ['REASON', (r) => r.reasonCode], ['ISSUANCE', (r) => r.issuanceId],
  ['WHO', (r) => { const c = r.claims as Record<string, string>; return c.repository ?? c.project ?? ''; }],
];

const auditFilters = ['pipeline', 'repository', 'project', 'cluster', 'namespace', 'outcome', 'kind', 'issuance', 'from', 'to'] as const;

/** `kubevend audit`: the ledger, filtered, as a table, JSON, NDJSON or CSV; `--follow` keeps printing new records. */
export async function auditCommand(args: string[], ctx: CommandContext): Promise<void> {
  if (args[0] === 'verify') return auditVerifyCommand(args.slice(1), ctx);
  const { values } = parseFlags(args, {
    ...operatorFlags, ...Object.fromEntries(auditFilters.map((f) => [f, { type: 'string' }])) as Record<(typeof auditFilters)[number], { type: 'string' }>,
    limit: { type: 'string' }, output: { type: 'string', short: 'o' }, follow: { type: 'boolean', short: 'f' }, interval: { type: 'string' },
  });
  const output = outputOf(values.output);
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliError('usage', '--limit is a whole number from 1 to 500');
  const filter = Object.fromEntries(auditFilters.map((f) => [f === 'issuance' ? 'issuanceId' : f, values[f]]));
  const api = operatorCall(values, ctx);
  if (output === 'ndjson' && !values.follow) {
    // The whole filtered ledger, streamed as the service writes it.
    const response = await api.stream(`/v1/audit${query(filter)}`);
    for await (const chunk of response.body!) ctx.stdout(Buffer.from(chunk).toString('utf8'));
    return;
  }
  const page = await api.json<{ items: Row[] }>('GET', `/v1/audit${query({ ...filter, limit })}`);
  const oldestFirst = page.items.toReversed();
  ctx.stdout(render(oldestFirst, auditColumns, output === 'json' && values.follow ? 'ndjson' : output));
  if (!values.follow) return;
  // Following: ask for what came after the newest record seen, page by page, oldest printed first.
  let seen = Math.max(0, ...page.items.map((r) => Number(r.id)));
  const every = Number(values.interval ?? 2) * 1000;
  for (;;) {
    await sleep(every);
    const fresh: Row[] = [];
    let cursor: string | null = null;
    do {
      const next: { items: Row[]; nextCursor: string | null } = await api.json('GET', `/v1/audit${query({ ...filter, limit: 500, ...(cursor ? { cursor } : {}) })}`);
      const newer = next.items.filter((r) => Number(r.id) > seen);
      fresh.push(...newer);
      cursor = newer.length === next.items.length ? next.nextCursor : null;
    } while (cursor);
    if (!fresh.length) continue;
    seen = Math.max(seen, ...fresh.map((r) => Number(r.id)));
    ctx.stdout(render(fresh.toReversed(), auditColumns, output === 'json' ? 'ndjson' : output, false));
  }
}

/**
 * `kubevend audit verify`: asks the service to verify the ledger (GET /v1/audit/verify). With
 * --database-url, or --receipt offline, it runs the verifier of `npm run audit:verify` itself
 * (runAuditVerify, with --checkpoint and --keys as there), from the package beside this command.
 */
async function auditVerifyCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, {
    ...operatorFlags, 'database-url': { type: 'string' }, checkpoint: { type: 'string' }, receipt: { type: 'string' }, keys: { type: 'string' }, output: { type: 'string', short: 'o' },
  });
  if (values['database-url'] || values.receipt) {
    const passed = (['checkpoint', 'receipt', 'keys'] as const).flatMap((f) => (values[f] ? [`--${f}`, values[f]] : []));
    const env = values['database-url'] ? { ...ctx.env, KUBEVEND_DATABASE_URL: values['database-url'] } : ctx.env;
    const code = await (await localVerifier())(passed, env, { out: (line) => ctx.stdout(`${line}\n`), err: ctx.say });
    if (code === 1) throw new CliError('failed', 'the audit ledger does not verify');
    if (code !== 0) throw new CliError('usage', 'the verifier could not run');
    return;
  }
  const result = await operatorCall(values, ctx).json<{ ok: boolean; count: number; recordId?: number; problem?: string; detail?: string }>('GET', '/v1/audit/verify');
  if (values.output === 'json') ctx.stdout(`${JSON.stringify(result)}\n`);
  else if (result.ok) ctx.stdout(`audit ledger intact: ${result.count} records verified\n`);
  else ctx.stdout(`${printable(`audit ledger BROKEN at record ${result.recordId} (${result.problem}): ${result.detail}; ${result.count} records verified before it`)}\n`);
  if (!result.ok) throw new CliError('failed', 'the audit ledger does not verify');
}

type Verifier = (args: string[], env: NodeJS.ProcessEnv, io: { out: (line: string) => void; err: (line: string) => void }) => Promise<number>;

/**
 * The package's ledger verifier, loaded only for a local verification: it opens the store, whose
 * drivers nothing else the command does needs. Beside the built command (dist/ledger/), or the
 * source's when the command runs from src/.
 */
async function localVerifier(): Promise<Verifier> {
  const candidates = [join(import.meta.dirname, 'ledger', 'verify-command.js'), join(import.meta.dirname, '..', '..', 'ledger', 'verify-command.ts')];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    return ((await import(pathToFileURL(file).href)) as { runAuditVerify: Verifier }).runAuditVerify;
  }
  throw new CliError('usage', 'a local verification needs the kubevend package installed beside the command (dist/ledger/)');
}

const issuanceColumns: Column[] = [
  ['ID', (r) => r.id], ['PIPELINE', (r) => r.pipeline], ['CLUSTER', (r) => r.cluster], ['NAMESPACE', (r) => r.namespace],
  ['SERVICE ACCOUNT', (r) => r.serviceAccount], ['KIND', (r) => r.tokenKind], ['STATE', (r) => r.state],
  ['CREATED', (r) => r.createdAt], ['EXPIRES', (r) => r.expiresAt],
];

/** `kubevend issuances`: credentials and their state (operators: all; filters by pipeline, cluster, state). */
export async function issuancesCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, {
    ...operatorFlags, pipeline: { type: 'string' }, cluster: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' }, output: { type: 'string', short: 'o' },
  });
  const output = outputOf(values.output);
  const page = await operatorCall(values, ctx).json<{ items: Row[] }>('GET', `/v1/issuances${query({ pipeline: values.pipeline, cluster: values.cluster, state: values.state, limit: values.limit ?? 100 })}`);
  ctx.stdout(render(page.items, issuanceColumns, output));
}

/** `kubevend suspend PIPELINE`: the kill switch; suspends the pipeline and revokes its live credentials. */
export async function suspendCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...operatorFlags, cluster: { type: 'string' } }, 1);
  if (!positionals[0]) throw new CliError('usage', 'name the pipeline: kubevend suspend PIPELINE [--cluster NAME]');
  const body = { pipeline: positionals[0], ...(values.cluster ? { cluster: values.cluster } : {}) };
  const result = await operatorCall(values, ctx).json<{ revoked: Row[] }>('POST', '/v1/issuances/revoke', body);
  ctx.say(`pipeline ${positionals[0]} suspended${values.cluster ? ` in ${values.cluster}` : ''}; ${result.revoked.length} live credentials revoked`);
}

/** `kubevend resume PIPELINE`: lifts a suspension. */
export async function resumeCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values, positionals } = parseFlags(args, { ...operatorFlags, cluster: { type: 'string' } }, 1);
  if (!positionals[0]) throw new CliError('usage', 'name the pipeline: kubevend resume PIPELINE [--cluster NAME]');
  await operatorCall(values, ctx).json('DELETE', `/v1/suspensions/${encodeURIComponent(positionals[0])}${query({ cluster: values.cluster })}`);
  ctx.say(`pipeline ${positionals[0]} resumed`);
}

/**
 * `kubevend explain`: what a credential request would get and why each pipeline did or did not
 * match. A CI job explains its own token; an operator passes --issuer-name and --claims.
 */
export async function explainCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, {
    ...operatorFlags, ...tokenFlags, ...askFlags, 'issuer-name': { type: 'string' }, claims: { type: 'string' }, output: { type: 'string', short: 'o' },
  });
  const ask = askOf(values);
  if ('clusters' in ask) throw new CliError('usage', 'explain one --cluster at a time');
  let identity: object | undefined;
  if (values.claims || values['issuer-name']) {
    if (!values.claims || !values['issuer-name']) throw new CliError('usage', '--claims and --issuer-name go together');
    try {
      identity = { issuer: values['issuer-name'], claims: JSON.parse(values.claims) as object };
    } catch {
      throw new CliError('usage', '--claims is a JSON object of claims');
    }
  }
  const service = serviceOf(values, ctx.env, ctx.say);
  const token = identity
    ? () => operatorToken(values, ctx)
    : jobToken(values, ctx.env, ctx.stdout);
  const response = await callService(service, { method: 'POST', path: '/v1/explain', token, body: { ...ask, ...(identity ? { identity } : {}) } });
  const result = (await response.json()) as ExplainAnswer;
  if (values.output === 'json') return ctx.stdout(`${JSON.stringify(result, null, 2)}\n`);
  // The answer's text is the service's: each line is printed as one line of plain text.
  const line = (text: string) => ctx.stdout(`${printable(text)}\n`);
  line(`${result.decision.toUpperCase()} for ${result.identity.issuer}${result.identity.subject ? ` ${result.identity.subject}` : ''}`);
  if (result.denial) line(`  ${result.denial.code}: ${result.denial.detail}`);
  for (const p of result.pipelines) {
    const why = p.mismatches.map((m) => `${m.claim} is ${m.actual ?? '(missing)'}, wants ${m.expected.join(' or ')}`);
    const grants = p.grants.filter((g) => !g.fits && g.reason).map((g) => `grant ${g.index}: ${g.reason}`);
    line(`  ${p.pipeline}: ${p.stage}${[...why, ...grants].length ? ` (${[...why, ...grants].join('; ')})` : ''}`);
  }
}

interface ExplainAnswer {
  decision: 'granted' | 'denied';
  identity: { issuer: string; subject?: string };
  denial?: { code: string; detail: string };
  pipelines: { pipeline: string; stage: string; mismatches: { claim: string; expected: string[]; actual?: string }[]; grants: { index: number; fits: boolean; reason?: string }[] }[];
}
