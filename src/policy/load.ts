import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CORE_SCHEMA, load } from 'js-yaml';
import { issuerKey, RemoteKeyCache, type VerificationKey } from './issuer-keys.ts';
import { nameGuardProblems } from './name-guards.ts';
import { pipelineIndexOf } from './pipeline-index.ts';
import { policySchema, type IssuerPolicy, type Policy } from './schema.ts';
import type { PolicyStatus } from './watch.ts';

export class PolicyError extends Error {}

/** The policy in force; `current()` is cheap and always returns a complete, validated policy. */
export interface PolicySource {
  current(): LoadedPolicy;
  status(): PolicyStatus;
}

export interface LoadOptions {
  /** kubevend's own namespace: always protected, whatever the policy lists. */
  ownNamespace?: string;
}

/** A validated policy with its file references resolved: paths made absolute, keys read. */
export type LoadedPolicy = Omit<Policy, 'issuers'> & { issuers: LoadedIssuer[] };
export type LoadedIssuer = IssuerPolicy & { key: VerificationKey };

const issuerFiles = ['publicKeyFile', 'jwksFile', 'hmacSecretFile', 'caFile'] as const;

/**
 * Reads, parses and validates a policy file. Every error names the file and the field's path.
 * Relative paths inside the file are resolved against the file's own directory.
 */
export async function loadPolicyFile(file: string, keys = new RemoteKeyCache(), options: LoadOptions = {}): Promise<LoadedPolicy> {
  return parsePolicy(file, await readOrFail(file, file), keys, options);
}

/**
 * Aliases resolve to one shared object, and everything after the parser (validation, guards) walks
 * the expanded tree: a few nested aliases would make that walk exponential, so the expanded size is
 * bounded relative to the file's own.
 */
const MAX_ALIAS_EXPANSION = 10;

/** The YAML of a policy file as plain data (YAML 1.2 core schema: no tags beyond it, no merge keys). */
export function readPolicyYaml(file: string, text: string): unknown {
  let raw: unknown;
  try {
    // js-yaml rather than the `yaml` package: it parses a 10,000-pipeline file (3 MB) ten times
    // faster (0.1 to 0.4 s against 1.4 to 8 s, bench scenario 7), the bulk of a hot reload.
    raw = load(text, { filename: file, schema: CORE_SCHEMA });
  } catch (err) {
    throw new PolicyError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  // Without an anchor (`&`) there is no alias, so nothing to expand: the walk, some 40 ms of a
  // 10,000-pipeline reload with its collections, is spent only on files that could need it.
  if (!text.includes('&')) return raw;
  const { unique, expanded } = treeSize(raw);
  if (expanded > MAX_ALIAS_EXPANSION * unique + 1000) {
    throw new PolicyError(`${file}: not valid YAML: its aliases expand ${unique} nodes to ${expanded}; write the repeated parts out`);
  }
  return raw;
}

/** Nodes of a parsed document, once each and as its aliases expand them; linear in the unique ones. */
function treeSize(root: unknown): { unique: number; expanded: number } {
  const sizes = new Map<object, number>();
  let unique = 1;
  const visit = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, 1); // YAML's aliases cannot make a cycle, but one would end here rather than loop
    let size = 1;
    for (const child of Object.values(node)) {
      if (child === null || typeof child !== 'object' || !sizes.has(child)) unique++;
      size += visit(child);
    }
    sizes.set(node, size);
    return size;
  };
  return { expanded: visit(root), unique };
}

/** Lets queued work run between the steps of a large load, so that one reload is not one long stall. */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function parsePolicy(file: string, text: string, keys = new RemoteKeyCache(), options: LoadOptions = {}): Promise<LoadedPolicy> {
  const raw = readPolicyYaml(file, text);
  await yieldToOthers();
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new PolicyError(`${file}: invalid policy:\n${lines.join('\n')}`);
  }
  const base = dirname(resolve(file));
  const policy = parsed.data;
  if (options.ownNamespace && !policy.protectedNamespaces.includes(options.ownNamespace)) {
    policy.protectedNamespaces = [...policy.protectedNamespaces, options.ownNamespace];
  }
  await yieldToOthers();
  const unsound = nameGuardProblems(policy);
  if (unsound.length) throw new PolicyError(`${file}: invalid policy:\n${unsound.map((p) => `  ${p}`).join('\n')}`);
  const issuers = await Promise.all(
    policy.issuers.map(async (raw, i) => {
      const issuer = { ...raw };
      for (const field of issuerFiles) if (issuer[field]) issuer[field] = resolve(base, issuer[field]);
      let reading = '';
      const read = (path: string) => {
        reading = `issuers.${i}.${issuerFiles.find((f) => issuer[f] === path) ?? 'key'}`;
        return readOrFail(file, path, reading);
      };
      try {
        return { ...issuer, key: await issuerKey(issuer, keys, read) };
      } catch (err) {
        if (err instanceof PolicyError) throw err;
        throw new PolicyError(`${file}: ${reading || `issuers.${i}`}: ${(err as Error).message}`);
      }
    }),
  );
  // Built here, with the rest of the load, rather than by the first request that decides.
  await yieldToOthers();
  pipelineIndexOf(policy.pipelines);
  return {
    ...policy,
    issuers,
    clusters: policy.clusters.map((c) => (c.kubeconfig ? { ...c, kubeconfig: resolve(base, c.kubeconfig) } : c)),
  };
}

async function readOrFail(policyFile: string, file: string, field?: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyError(`${policyFile}:${field ? ` ${field}:` : ''} cannot read ${file} (${reason})`);
  }
}

/** A policy source that never changes. */
export function staticPolicySource(policy: LoadedPolicy, file = '(static)'): PolicySource {
  const status = { file, version: 'static', loadedAt: new Date() };
  return { current: () => policy, status: () => status };
}
