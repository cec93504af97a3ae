import { z } from 'zod';
import { issuerFields, issuerPresets } from '../../src/policy/issuer-schema.ts';
import { clusterSchema, grantSchema, operatorSchema, pipelineSchema } from '../../src/policy/schema.ts';

// docs/policy-reference.md, generated from the policy's zod schema so the two cannot drift.

const sections: [string, string, z.ZodType][] = [
  ['issuers[]', 'Who may call: each entry trusts one CI system\'s tokens. Set exactly one key source: `discovery`, `jwksUri`, `jwksFile`, `publicKeyFile` or `hmacSecretFile`.', issuerFields],
  ['clusters[]', 'Where credentials are issued. Set exactly one of `inCluster`, `kubeconfig`.', clusterSchema],
  ['pipelines[]', 'Which CI identities get what. Deny by default; see "How a request is decided".', pipelineSchema],
  ['pipelines[].grants[]', 'What a pipeline may get.', grantSchema],
  ['operators[]', 'People and services that read the ledger (auditor) or also revoke (admin).', operatorSchema],
];

type JsonSchema = { type?: string | string[]; enum?: unknown[]; const?: unknown; anyOf?: JsonSchema[]; items?: JsonSchema; default?: unknown; description?: string; properties?: Record<string, JsonSchema>; required?: string[]; additionalProperties?: JsonSchema | boolean };

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((e) => `\`${e}\``).join(' \\| ');
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object') return s.properties ? 'object' : 'map of claim → value';
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'value');
}

/** A field's default as the policy sees it (durations in seconds), found by parsing "absent". */
function defaultOf(schema: z.ZodType, name: string): string {
  const field = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape?.[name];
  const parsed = field?.safeParse(undefined);
  return parsed?.success && parsed.data !== undefined ? `\`${JSON.stringify(parsed.data)}\`` : '';
}

function table(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows = Object.entries(json.properties ?? {}).map(([name, field]) => {
    const def = defaultOf(schema, name);
    const required = json.required?.includes(name) && !def ? 'yes' : '';
    return `| \`${name}\` | ${typeOf(field)} | ${required} | ${def} | ${(field.description ?? '').replace(/\|/g, '\\|')} |`;
  });
  return ['| field | type | required | default | meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function policyReference(): string {
  const presets = Object.entries(issuerPresets)
    .map(([name, values]) => `- \`${name}\`: ${Object.entries(values).map(([k, v]) => `\`${k}: ${JSON.stringify(v)}\``).join(', ')}`)
    .join('\n');
  return [
    '# Policy reference',
    '',
    '<!-- Generated from src/policy by `npm run docs`; a test fails when it is stale. -->',
    '',
    'The policy is one YAML file (`KUBEVEND_POLICY_FILE`). Relative paths in it are resolved against',
    'its own directory. Durations are `90s`, `15m`, `1h`, `2d`, `1h30m` or whole seconds. Unknown',
    'fields are errors; an invalid file stops start-up (or, on reload, is refused while the last good',
    'policy stays in force) with the file and the path of each bad field.',
    '',
    '## How a request is decided',
    '',
    '- Deny by default: a request that no pipeline grants is refused (403).',
    '- Pipelines are tried in file order. A pipeline applies when its `issuer` is the token\'s issuer',
    '  entry, every `match` claim holds and every `conditions` claim holds.',
    '- The request gets the first grant, in file order, of the first applicable pipeline that has a grant',
    '  fitting the request (`cluster`, `namespace`, `serviceAccount`, `audiences` it names). So when',
    '  several entries match, the earlier one wins; put narrow entries (production) before broad ones.',
    '- A claim value is compared as a string. A list means any of. A value with `*` is an anchored glob',
    '  whose `*` matches within one segment: it never crosses `/` or `:`. A claim that is a list (such',
    '  as `groups`) holds when any element matches.',
    '- `namespace` and `serviceAccount` may be templated from claims (`ci-{{repository_name}}`); the',
    '  result must again be a valid Kubernetes name, else that grant is refused. Derived claims for',
    '  templates: `repository_name` (last part of `repository`), `project_name` (of `project_path`).',
    '- The denial says why: `pipeline_not_matched`, `conditions_not_met` or `grant_not_allowed`;',
    '  `POST /v1/explain` lists every pipeline and where it stopped.',
    '',
    ...sections.flatMap(([name, intro, schema]) => [`## \`${name}\``, '', intro, '', table(schema), '']),
    '## Issuer presets',
    '',
    'A `preset` fills in these fields; anything the entry sets itself wins.',
    '',
    presets,
    '',
  ].join('\n');
}
