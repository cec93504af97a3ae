import { dirname, join, resolve } from 'node:path';
import { ciSurface, identityTokens } from './ci.ts';
import type { CommandContext } from './context.ts';
import { CliError } from './exit.ts';
import { callersDir, writePrivateFile } from './files.ts';
import { kubeconfigSecrets } from './kubeconfig.ts';
import { durationMs, parseFlags, serviceFlags, serviceOf, tokenChoiceOf, tokenFlags } from './options.ts';
import { callService } from './service.ts';
import { jobDir, recordIssued, stateFileIn } from './state.ts';

const formats = ['kubeconfig', 'env', 'exec-credential'] as const;
type Format = (typeof formats)[number];

/** The flags that narrow the grant, as the request body's fields do. */
export const askFlags = {
  cluster: { type: 'string', multiple: true },
  namespace: { type: 'string' },
  'service-account': { type: 'string' },
  ttl: { type: 'string' },
  kind: { type: 'string' },
} as const;

const credentialFlags = {
  ...serviceFlags,
  ...tokenFlags,
  ...askFlags,
  format: { type: 'string' },
  file: { type: 'string' },
  dotenv: { type: 'string' },
} as const;

/** The request body's narrowing of the grant, from the flags. */
export function askOf(values: { cluster?: string[] | undefined; namespace?: string | undefined; 'service-account'?: string | undefined; ttl?: string | undefined; kind?: string | undefined }) {
  // A comma-separated list counts as several (an Action's or a component's input); empty ones as none.
  const clusters = (values.cluster ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter(Boolean);
  if (values.kind && values.kind !== 'short-lived' && values.kind !== 'durable') throw new CliError('usage', '--kind is short-lived or durable');
  return {
    ...(clusters.length === 1 ? { cluster: clusters[0] } : clusters.length > 1 ? { clusters } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values['service-account'] ? { serviceAccount: values['service-account'] } : {}),
    ...(values.ttl ? { ttlSeconds: Math.round(durationMs(values.ttl, 'ttl') / 1000) } : {}),
    ...(values.kind ? { kind: values.kind } : {}),
  };
}

interface Envelope {
  pipeline: string;
  kubeconfig: string;
  expiresAt: string;
  issuances: { issuanceId: string; cluster: string; namespace: string; serviceAccount: string; expiresAt: string }[];
}

/** `kubevend credentials`: vends a credential for this CI job and hands it to the job's later steps. */
export async function credentialsCommand(args: string[], ctx: CommandContext): Promise<void> {
  const { values } = parseFlags(args, credentialFlags);
  const format = (values.format ?? 'kubeconfig') as Format;
  if (!formats.includes(format)) throw new CliError('usage', `--format is one of ${formats.join(', ')}`);
  const ask = askOf(values);
  if (format === 'exec-credential' && 'clusters' in ask) throw new CliError('usage', 'an ExecCredential holds one cluster\'s token: name one --cluster');
  const service = serviceOf(values, ctx.env, ctx.say);
  const ci = ciSurface(ctx.env, ctx.stdout, values.dotenv);
  const tokens = identityTokens(tokenChoiceOf(values, ctx.env), ctx.env, ci.mask);

  // Where it goes is settled first: a folder that cannot be used must not cost an issuance.
  const dir = values.file && values.file !== '-' ? await callersDir(dirname(resolve(values.file))) : await jobDir(ctx.env);
  const file = values.file === '-' ? '-' : resolve(values.file ?? join(dir, defaultName[format]));

  // kubeconfig is asked for as the JSON envelope, which also names the issuances to revoke.
  const response = await callService(service, {
    method: 'POST', path: '/v1/credentials', token: () => tokens.next(),
    body: { ...ask, format: format === 'kubeconfig' ? 'json' : format },
  });
  const text = await response.text();
  const issued = readAnswer(format, text);
  for (const secret of issued.secrets) ci.mask(secret);
  if (issued.ignored.length) ctx.say(`ignored variables kubevend does not set: ${issued.ignored.join(', ')}`);

  if (file === '-') ctx.stdout(issued.content);
  else await writePrivateFile(file, issued.content);

  const stateFile = stateFileIn(dir);
  if (issued.issuances.length) await recordIssued(stateFile, issued.issuances.map((id) => ({ url: service.url, id, ...(issued.expiresAt ? { expiresAt: issued.expiresAt } : {}) })));
  if (file !== '-' && format === 'kubeconfig') await ci.exportVariable('KUBECONFIG', file);
  if (format === 'env' && file !== '-') await ci.exportVariable('KUBEVEND_ENV_FILE', file);
  if (format === 'env' && ci.system === 'github') {
    for (const [name, value] of envLines(issued.content)) await ci.exportVariable(name, value);
  }
  if (issued.issuances.length) await ci.exportVariable('KUBEVEND_STATE', stateFile);
  if (file !== '-') await ci.setOutput(format === 'kubeconfig' ? 'kubeconfig' : 'file', file);
  await ci.setOutput('issuance-ids', issued.issuances.join(','));
  if (issued.expiresAt) await ci.setOutput('expires-at', issued.expiresAt);
  ctx.say(`${issued.summary}${file === '-' ? '' : `; written to ${file}`}`);
}

export const defaultName: Record<Format, string> = { kubeconfig: 'kubeconfig', env: 'kubevend.env', 'exec-credential': 'exec-credential.json' };

interface Answer {
  content: string;
  secrets: string[];
  issuances: string[];
  expiresAt?: string;
  summary: string;
  /** Variables of an env answer that kubevend does not set, left out. */
  ignored: string[];
}

const malformed = (what: string) => new CliError('unavailable', `the service answered 2xx without ${what}; nothing was written`);

/**
 * The JSON envelope's kubeconfig, its secrets and issuances, checked: a kubeconfig whose every
 * user's credential cannot be found (so masked) or that would run a program is refused.
 */
export function readEnvelope(text: string): { body: Envelope; secrets: string[]; tokens: string[] } {
  let body: Envelope;
  try {
    body = JSON.parse(text) as Envelope;
  } catch {
    throw malformed('a JSON credential envelope');
  }
  const found = typeof body.kubeconfig === 'string' && /^apiVersion: v1\nkind: Config\n/.test(body.kubeconfig) ? kubeconfigSecrets(body.kubeconfig) : undefined;
  if (!found || !Array.isArray(body.issuances) || body.issuances.some((i) => typeof i.issuanceId !== 'string')) throw malformed('a kubeconfig');
  return { body, ...found };
}

/**
 * Checks that a 2xx answer is the credential asked for before anything is written: a proxy's page
 * or a truncated body is never saved as a kubeconfig. No line of it may be a CI runner's workflow
 * command, should it reach a log.
 */
function readAnswer(format: Format, text: string): Answer {
  if (/^\s*::/m.test(text)) throw malformed('a credential free of workflow commands');
  if (format === 'kubeconfig') {
    const { body, secrets } = readEnvelope(text);
    const where = body.issuances.map((i) => `${i.cluster}/${i.namespace} as ${i.serviceAccount}`).join(', ');
    return {
      content: body.kubeconfig,
      secrets,
      issuances: body.issuances.map((i) => i.issuanceId),
      expiresAt: body.expiresAt,
      summary: `pipeline ${body.pipeline} granted ${where}, until ${body.expiresAt}`,
      ignored: [],
    };
  }
  if (format === 'env') {
    const all = text.split('\n').filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
    const known = all.filter(([name]) => name in envValues);
    const bad = known.find(([name, value]) => !envValues[name]!.test(value));
    if (bad) throw malformed(`a valid ${bad[0]}`);
    const lines = new Map(known);
    const kubeconfig = lines.has('KUBECONFIG_DATA') ? kubeconfigSecrets(Buffer.from(lines.get('KUBECONFIG_DATA')!, 'base64').toString('utf8')) : undefined;
    if (!kubeconfig) throw malformed('env lines with a kubeconfig whose credentials can be found');
    const expiresAt = lines.get('KUBEVEND_EXPIRES_AT');
    return {
      // Only kubevend's own variables are written, so only they reach whatever reads the file.
      content: known.map(([name, value]) => `${name}=${value}\n`).join(''),
      secrets: [...(['KUBE_TOKEN', 'KUBECONFIG_DATA'] as const).map((n) => lines.get(n)).filter((v): v is string => !!v), ...kubeconfig.secrets],
      issuances: (lines.get('KUBEVEND_ISSUANCE_IDS') ?? '').split(',').filter(Boolean),
      ...(expiresAt ? { expiresAt } : {}),
      summary: `granted until ${expiresAt}`,
      ignored: all.filter(([name]) => !(name in envValues)).map(([name]) => name),
    };
  }
  const credential = parseExecCredential(text);
  if (!credential) throw malformed('an ExecCredential');
  return { content: text, secrets: [credential.token], issuances: [], expiresAt: credential.expirationTimestamp, summary: `granted until ${credential.expirationTimestamp}`, ignored: [] };
}

const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
/**
 * The variables of an env answer and what their values look like: nothing else is written or
 * exported (a hostile answer could otherwise set PATH, BASH_ENV or LD_PRELOAD for later steps), and
 * no value holds a quote, a space or a `$` that a shell reading the file could act on.
 */
const envValues: Record<string, RegExp> = {
  KUBEVEND_ISSUANCE_IDS: /^[0-9A-Za-z]+(,[0-9A-Za-z]+)*$/,
  KUBEVEND_EXPIRES_AT: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  KUBECONFIG_DATA: base64,
  KUBE_SERVER: /^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/,
  KUBE_NAMESPACE: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  KUBE_TOKEN: /^[A-Za-z0-9._~+/=-]+$/,
  KUBE_CA_DATA: base64,
};

/** The NAME=value lines of kubevend's own variables in an env file it wrote. */
export function envLines(text: string): [string, string][] {
  return text.split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string])
    .filter(([name, value]) => envValues[name]?.test(value));
}

/** The token and expiry of a client.authentication.k8s.io/v1 ExecCredential, or undefined. */
export function parseExecCredential(text: string): { token: string; expirationTimestamp: string } | undefined {
  try {
    const body = JSON.parse(text) as { apiVersion?: unknown; kind?: unknown; status?: { token?: unknown; expirationTimestamp?: unknown } };
    const { token, expirationTimestamp } = body.status ?? {};
    if (body.kind !== 'ExecCredential' || body.apiVersion !== 'client.authentication.k8s.io/v1') return undefined;
    if (typeof token !== 'string' || !token || typeof expirationTimestamp !== 'string' || Number.isNaN(Date.parse(expirationTimestamp))) return undefined;
    return { token, expirationTimestamp };
  } catch {
    return undefined;
  }
}
