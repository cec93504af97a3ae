import { Ajv } from 'ajv';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGenerator } from 'ts-json-schema-generator';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { runTool } from './helpers/cluster.ts';
import { find, renderChart } from './helpers/helm.ts';
import { startServedKubevend, type ServedKubevend } from './helpers/served.ts';

const root = join(import.meta.dirname, '..');
const promtool = (...args: string[]) => runTool(inject('promtool'), args);

/** The chart's PrometheusRule and Grafana dashboard ConfigMap, as `helm template` renders them with both on. */
async function rendered() {
  const { manifests } = await renderChart('kv', 'monitoring', [
    '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true',
    '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule',
  ]);
  const rule = find(manifests, 'PrometheusRule') as unknown as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  const configMap = find(manifests, 'ConfigMap', '-dashboard') as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
  return { rule, configMap, dashboard: JSON.parse(configMap.data['kubevend.json']!) as Dashboard };
}
type Dashboard = { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { type: string; query?: string }[] } };

const functions = new Set([
  'abs', 'absent', 'avg', 'avg_over_time', 'bool', 'by', 'ceil', 'clamp_min', 'count', 'delta', 'deriv', 'group_left', 'group_right',
  'histogram_quantile', 'humanize', 'ignoring', 'increase', 'irate', 'max', 'max_over_time', 'min', 'min_over_time',
  'offset', 'on', 'or', 'and', 'unless', 'quantile', 'rate', 'sum', 'topk', 'without',
]);

/** The metric names a PromQL expression (or a Grafana label_values query) reads. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\$\w+/g, ''); // Grafana's variables
  return [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)].map((m) => m[1]!)
    .filter((name) => !functions.has(name) && !/^\d/.test(name));
}

describe('the chart\'s alerts and dashboard', () => {
  it('when promtool checks the rendered PrometheusRule\'s rules, then it finds them valid', async () => {
    const { rule } = await rendered();
    const dir = await mkdtemp(join(tmpdir(), 'kubevend-rules-'));
    const file = join(dir, 'rules.yaml');
    await writeFile(file, stringify(rule.spec));
    const result = await promtool('check', 'rules', file);
    await rm(dir, { recursive: true });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: 5 rules found/);
  });

  it('when promtool runs the alerts\' unit tests, then each alert fires on its series and not before its time', async () => {
    const result = await promtool('test', 'rules', join(root, 'test', 'prometheus', 'kubevend-rules.test.yaml'));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });

  it('when the dashboard ConfigMap is rendered, then it carries the sidecar\'s label and a dashboard that fits Grafana\'s dashboard schema', async () => {
    const { configMap, dashboard } = await rendered();
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    // Grafana's own dashboard model (@grafana/schema, generated from its CUE kinds), as a JSON schema.
    const schema = createGenerator({
      path: join(root, 'node_modules', '@grafana', 'schema', 'dist', 'types', 'raw', 'dashboard', 'x', 'types.gen.d.ts'),
      type: 'Dashboard', skipTypeCheck: true, expose: 'export', topRef: false,
    }).createSchema('Dashboard');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(dashboard), JSON.stringify(validate.errors, null, 1)).toBe(true);
    expect(dashboard.panels.filter((p) => p.targets?.length).length).toBeGreaterThan(10);
  }, 60_000);

  it('when the chart is rendered with its defaults, then neither the rule nor the dashboard is there', async () => {
    const { manifests } = await renderChart('kv', 'monitoring', ['--api-versions', 'monitoring.coreos.com/v1/PrometheusRule']);
    expect(manifests.filter((m) => m.kind === 'PrometheusRule' || m.metadata.name.endsWith('-dashboard'))).toEqual([]);
  });
});

describe('the metrics the alerts and the dashboard read', () => {
  let kv: ServedKubevend;
  beforeAll(async () => {
    kv = await startServedKubevend('monitoring');
  });
  afterAll(async () => kv?.close());

  /** Every series name the server exposes, histograms' and summaries' own series included. */
  async function exposed(): Promise<Set<string>> {
    const text = await (await fetch(`${kv.url}/metrics`)).text();
    const names = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
    }
    return names;
  }

  it('when the real server is scraped, then every metric named in the alerts and the dashboard exists', async () => {
    const { rule, dashboard } = await rendered();
    const used = new Set([
      ...rule.spec.groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))),
      // A query variable's label_values(series, label) reads the series; its last argument is a label.
      ...dashboard.templating.list.flatMap((v) => (v.type === 'query' ? metricNames(v.query!.replace(/^label_values\((.*),\s*\w+\)$/, '$1')) : [])),
    ]);
    expect(used.size).toBeGreaterThan(10);
    const names = await exposed();
    expect([...used].filter((name) => !names.has(name))).toEqual([]);
  });

  it('when promtool lints the real server\'s exposition, then kubevend\'s own metrics breach none of Prometheus\'s naming conventions', async () => {
    const text = await (await fetch(`${kv.url}/metrics`)).text();
    const result = await runTool(inject('promtool'), ['check', 'metrics'], text);
    const findings = (result.stdout + result.stderr).split('\n').filter(Boolean);
    // prom-client's standard Node.js gauges (nodejs_active_handles_total, ...) keep the names every
    // Node.js dashboard uses, though promtool would not have them end in _total.
    expect(findings.filter((line) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line))).toEqual([]);
  });

  it('when a name is misspelt, then the check of names would catch it', () => {
    expect(metricNames('sum by (code) (rate(kubevend_refusal_total{code!="x"}[5m])) > 3 * max(kubevend_store_up)'))
      .toEqual(['kubevend_refusal_total', 'kubevend_store_up']);
  });
});
