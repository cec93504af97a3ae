import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { policySchema, type IssuerPolicy, type Policy } from './schema.ts';

export class PolicyError extends Error {}

/** A validated policy with its file references resolved: paths made absolute, keys read. */
export type LoadedPolicy = Omit<Policy, 'issuers'> & { issuers: LoadedIssuer[] };
export type LoadedIssuer = IssuerPolicy & { publicKey: KeyObject };

/**
 * Reads, parses and validates a policy file. Every error names the file and the field's path.
 * Relative paths inside the file are resolved against the file's own directory.
 */
export async function loadPolicyFile(file: string): Promise<LoadedPolicy> {
  const text = await readOrFail(file, file, '(file)');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new PolicyError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new PolicyError(`${file}: invalid policy:\n${lines.join('\n')}`);
  }
  const base = dirname(resolve(file));
  const policy = parsed.data;
  const issuers = await Promise.all(
    policy.issuers.map(async (issuer, i) => {
      const field = `issuers.${i}.publicKeyFile`;
      const keyFile = resolve(base, issuer.publicKeyFile);
      const pem = await readOrFail(file, keyFile, field);
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey(pem);
      } catch {
        throw new PolicyError(`${file}: ${field}: ${keyFile} holds no PEM public key`);
      }
      return { ...issuer, publicKeyFile: keyFile, publicKey };
    }),
  );
  return {
    ...policy,
    issuers,
    clusters: policy.clusters.map((c) => ({ ...c, kubeconfig: resolve(base, c.kubeconfig) })),
  };
}

async function readOrFail(policyFile: string, file: string, field: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'error';
    const where = field === '(file)' ? '' : ` ${field}:`;
    throw new PolicyError(`${policyFile}:${where} cannot read ${file} (${reason})`);
  }
}

/** A policy source that never changes. */
export function staticPolicySource(policy: LoadedPolicy): { current(): LoadedPolicy } {
  return { current: () => policy };
}
