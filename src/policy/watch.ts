import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { BaseLogger } from 'pino';
import { RemoteKeyCache } from './issuer-keys.ts';
import { parsePolicy, PolicyError, type LoadedPolicy } from './load.ts';

export interface PolicyStatus {
  file: string;
  /** sha256 of the policy text in force, shortened. */
  version: string;
  loadedAt: Date;
  /** Set while the newest file on disk is refused and the last good policy still serves. */
  reloadError?: { message: string; at: Date };
}

export interface PolicyWatcher {
  current(): LoadedPolicy;
  status(): PolicyStatus;
  /** Loads the file again now; a bad file keeps the policy in force. Resolves true when it swapped. */
  reload(): Promise<boolean>;
  close(): void;
}

/**
 * Quiet time after a change before reading the file: one write raises several events within
 * microseconds, and a ConfigMap swaps a symlink at once, so a tenth of a second is ample.
 */
export const RELOAD_DEBOUNCE_MS = 100;

/**
 * Serves the policy from a file and swaps it atomically when the file changes. The directory is
 * watched, not the file: a mounted ConfigMap changes by swapping a symlink beside the file.
 */
export async function watchPolicyFile(
  file: string,
  options: { logger?: BaseLogger; onReload?: (ok: boolean) => void; ownNamespace?: string } = {},
): Promise<PolicyWatcher> {
  const keys = new RemoteKeyCache();
  const load = async () => {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new PolicyError(`${file}: cannot read the policy file (${err.code ?? 'error'})`);
    });
    return { policy: await parsePolicy(file, text, keys, options.ownNamespace ? { ownNamespace: options.ownNamespace } : {}), version: createHash('sha256').update(text).digest('hex').slice(0, 12) };
  };

  const first = await load();
  let policy = first.policy;
  let status: PolicyStatus = { file, version: first.version, loadedAt: new Date() };
  let reloading: Promise<boolean> | undefined;

  async function reloadNow(): Promise<boolean> {
    try {
      const next = await load();
      const changed = next.version !== status.version;
      policy = next.policy;
      status = { file, version: next.version, loadedAt: changed ? new Date() : status.loadedAt };
      if (changed) options.logger?.info({ version: next.version }, 'policy reloaded');
      options.onReload?.(true);
      return true;
    } catch (err) {
      const message = err instanceof PolicyError ? err.message : String(err);
      status = { ...status, reloadError: { message, at: new Date() } };
      options.logger?.warn({ file, error: message }, 'policy reload refused; the last good policy stays in force');
      options.onReload?.(false);
      return false;
    }
  }

  let again: Promise<boolean> | undefined;
  const reload = (): Promise<boolean> => {
    if (!reloading) return (reloading = reloadNow().finally(() => (reloading = undefined)));
    // One reload at a time; a change during one may have come after it read the file, so read it
    // once more when it ends (however many changes came meanwhile).
    again ??= reloading.then(() => {
      again = undefined;
      return reload();
    });
    return again;
  };

  let timer: NodeJS.Timeout | undefined;
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    // ConfigMap updates touch `..data` and timestamped directories rather than the file itself.
    if (changed && changed !== name && !changed.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), RELOAD_DEBOUNCE_MS);
  });
  watcher.unref();

  return {
    current: () => policy,
    status: () => status,
    reload,
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
