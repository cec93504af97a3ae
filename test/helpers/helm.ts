import { join } from 'node:path';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runTool, type KubectlResult } from './cluster.ts';

export const chartDir = join(import.meta.dirname, '..', '..', 'helm', 'kubevend');

/** The value sets in the chart's ci/ folder. */
export const valueSets = ['sqlite-single', 'postgres-replicas', 'all-modes'] as const;
export const valueSetFile = (name: string) => join(chartDir, 'ci', `${name}.yaml`);

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Runs the pinned helm. Never throws on exit codes. */
export function helm(args: string[]): Promise<KubectlResult> {
  return runTool(inject('helm'), args);
}

/** `helm template` of the chart as a release in a namespace: the text and its objects. */
export async function renderChart(release: string, namespace: string, args: string[] = []): Promise<{ text: string; manifests: Manifest[] }> {
  const result = await helm(['template', release, chartDir, '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  const manifests = parseAllDocuments(result.stdout).map((d) => d.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
  return { text: result.stdout, manifests };
}

/** The one rendered object of a kind (and name suffix). */
export function find(manifests: Manifest[], kind: string, nameSuffix = ''): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0]!;
}
