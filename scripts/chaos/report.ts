import { readFile, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem, type } from 'node:os';
import type { ScenarioResult } from './harness.ts';

// CHAOS.md: what was done to kubevend, what held and how long it took to heal. The analysis between
// its markers is written by hand and kept from one run to the next.

export interface ChaosRun {
  command: string;
  startedAt: Date;
  durationS: number;
  results: ScenarioResult[];
  /** Scenarios that could not be run at all, and why. */
  errors: { id: string; title: string; error: string }[];
}

const start = '<!-- analysis: kept by npm run chaos -->';
const end = '<!-- /analysis -->';

export function describeMachine(): string {
  const cpu = cpus();
  return `${type()} ${release()}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
}

export async function writeChaosReport(file: string, run: ChaosRun): Promise<void> {
  const previous = await readFile(file, 'utf8').catch(() => '');
  const analysis = previous.includes(start) ? previous.slice(previous.indexOf(start), previous.indexOf(end) + end.length) : `${start}\n${end}`;
  const yes = (held: boolean) => (held ? 'held' : '**not held**');
  const lines = [
    '# Chaos',
    '',
    'Faults a CI fleet\'s kubevend meets, done to real processes on loopback (`scripts/chaos/`); after each, the',
    'invariants below are checked and the time to heal is measured from the fault\'s end. The short variant runs',
    'in `npm test` (`test/chaos.test.ts`) with the scenarios that hold.',
    '',
    `- Command: \`${run.command}\`, started ${run.startedAt.toISOString()}, ${Math.round(run.durationS)} s in all`,
    `- Machine: ${describeMachine()}`,
    '- kubevend: `src/server.ts` in processes of its own, `KUBEVEND_REAPER_INTERVAL=2`, each scenario its own namespace,',
    '  store and `KUBEVEND_INSTANCE`; load: CI jobs each asking for a credential with a fresh token, again and again.',
    '',
    '| scenario | result | credentials again (s) | refused requests\' objects gone (s) | answers |',
    '| --- | --- | --- | --- | --- |',
    ...run.results.map((r, i) => `| ${i + 1}. ${r.title} | ${r.held ? 'all held' : `**${r.checks.filter((c) => !c.held).length} not held**`} | `
      + `${r.serviceBackS ?? 'never'} | ${r.cleanS ?? 'not within the watch'} | ${r.outcomes} |`),
    ...run.errors.map((e) => `| ${e.title} | **could not run** | | | ${e.error} |`),
    '',
    analysis,
    '',
  ];
  for (const [i, r] of run.results.entries()) {
    lines.push(`## ${i + 1}. ${r.title}`, '', r.done, '', '| invariant | | figures |', '| --- | --- | --- |');
    for (const c of r.checks) lines.push(`| ${c.invariant} | ${yes(c.held)} | ${c.detail.replaceAll('|', '\\|')} |`);
    lines.push('');
  }
  for (const e of run.errors) lines.push(`## ${e.title}`, '', `Could not run: ${e.error}`, '');
  await writeFile(file, lines.join('\n'));
}
