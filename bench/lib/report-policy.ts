import { RELOAD_DEBOUNCE_MS } from '../../src/policy/watch.ts';
import type { PolicyMeasure, PolicyResult } from '../scenarios/policy.ts';

// Scenario 7 in BENCHMARKS.md: its targets and its section.

const us = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const rate = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const ms = (list: number[]) => (list.length ? `${Math.min(...list).toFixed(0)} to ${Math.max(...list).toFixed(0)}` : 'n/a');
const check = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**');

/** Refusals are no costlier than grants when their p50 and p99 are each within 10 % of the grants' (the spread of repeated runs). */
export function refusalsNoCostlier(m: PolicyMeasure): boolean {
  const { grant, refusal } = m.decisions;
  return refusal.latencyUs.p50 <= 1.1 * grant.latencyUs.p50 && refusal.latencyUs.p99 <= 1.1 * grant.latencyUs.p99;
}

export function policyTargets(p: PolicyResult | undefined): string[] {
  const largest = p?.steps.find((s) => s.size >= 10_000)?.indexed;
  const d = largest?.decisions;
  const reload = largest ? Math.max(...largest.load.reloadMs) : NaN;
  return [
    `| 7 | a decision at 10,000 pipelines: p99 < 50 µs | ${d ? `${us(d.grant.latencyUs.p99)} µs granted, ${us(d.refusal.latencyUs.p99)} µs refused` : 'n/a'} | ${check(d && Math.max(d.grant.latencyUs.p99, d.refusal.latencyUs.p99) < 50)} |`,
    `| 7 | refusals no costlier than grants (p50 and p99 within 10 %) at 10,000 | ${d ? `p50 ${us(d.refusal.latencyUs.p50)} vs ${us(d.grant.latencyUs.p50)} µs, p99 ${us(d.refusal.latencyUs.p99)} vs ${us(d.grant.latencyUs.p99)} µs` : 'n/a'} | ${check(largest && refusalsNoCostlier(largest))} |`,
    `| 7 | hot reload of 10,000 pipelines < 1 s | ${largest ? `${reload.toFixed(0)} ms at most (served after the watcher's ${RELOAD_DEBOUNCE_MS} ms debounce, which the load overlaps)` : 'n/a'} | ${check(largest && reload < 1000)} |`,
  ];
}

export function policySection(p: PolicyResult): string[] {
  const rows = p.steps.flatMap(({ size, indexed, scan }) => (['grant', 'refusal'] as const).map((kind, i) => {
    const [a, b] = [indexed.decisions[kind], scan.decisions[kind]];
    return `| ${i ? '' : size.toLocaleString('en-US')} | ${kind === 'grant' ? 'granted' : 'refused'} | ${rate(a.perSecond)} | ${us(a.latencyUs.p50)} | ${us(a.latencyUs.p99)} | ${rate(b.perSecond)} | ${us(b.latencyUs.p50)} | ${us(b.latencyUs.p99)} | ${a.wrong + b.wrong} |`;
  }));
  const loads = p.steps.map(({ size, indexed: { load, yamlBytes, heapUsedMb } }) =>
    `| ${size.toLocaleString('en-US')} | ${(yamlBytes / 2 ** 20).toFixed(1)} | ${ms(load.parseMs)} | ${ms(load.yamlMs)} | ${ms(load.schemaMs)} | ${ms(load.guardsMs)} | ${ms(load.indexMs)} | ${ms(load.reloadMs)} | ${heapUsedMb.toFixed(0)} |`);
  return ['## 7. A large organisation\'s policy', '',
    `\`bench/policy/large-org.ts\`: two CI issuers, 30 clusters, an owner for every 50 pipelines; half the pipelines match one repository exactly (every tenth a list of two), half a team's repositories by glob with a namespace templated from the repository's name and narrowed by \`allowedNames\`; every pipeline requires \`ref: refs/heads/main\`. Granted jobs are spread over the whole file; refused ones are half a repository no pipeline matches, half a matching one on another ref (conditions not met). Each size and way in a process of its own with \`npm start\`'s Node options (\`bench/policy/measure.ts\`): decisions one at a time through \`evaluate\` as the issuing path calls it, granted and refused jobs in alternation, ${p.decideMs / 1000} s after a warm-up. Indexed: as kubevend decides, trying only the pipelines the index names for the job's claims; every pipeline: \`evaluateByScan\`, the baseline.`, '',
    '| pipelines | jobs | indexed: decisions/s | p50 µs | p99 µs | every pipeline: decisions/s | p50 µs | p99 µs | wrong |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows, '',
    `Loading, ${p.loads} time(s) each, ms (lowest to highest): \`parsePolicy\` as a whole, then its parts apart; hot reload: from writing a changed file to the watcher serving it, which it does once the file has stayed unchanged for its ${RELOAD_DEBOUNCE_MS} ms debounce, the load starting within it. Heap: V8 heap used by the measuring process at its end.`, '',
    '| pipelines | file MB | parsePolicy | of which YAML | schema | name guards | index | hot reload | heap MB |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...loads, ''];
}
