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
  /**
   * Loads the file again now; a bad file keeps the policy in force. Resolves true when it swapped
   * (false too when a change of the file, during the read, leaves the next reload to serve it).
   */
  reload(): Promise<boolean>;
  close(): void;
}

/**
 * Quiet time after a change before reading the file: one write raises several events within
 * microseconds, and a ConfigMap swaps a symlink at once, so a tenth of a second is ample.
 */
export const RELOAD_DEBOUNCE_MS = 100;

/**
 * How soon after a change the file is read. A large policy takes longer to load than the debounce
 * (half a second at 10,000 pipelines), so it is read once the events pause and then served only if
 * the file stayed quiet for the whole debounce and did not change after the read began; otherwise
 * the reload that change started reads it again. The debounce then overlaps the load.
 */
const READ_AFTER_MS = 20;

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
  /** Change events seen, and when the last came. */
  let changes = 0;
  let changedAt = -Infinity;

  /** Set when the file changed under an early read: the next waits out the debounce before it reads. */
  let wasted = false;
  /** Resolves once the file has had no change for the debounce, counting events a long load held up. */
  const untilQuiet = async () => {
    await new Promise((r) => setImmediate(r));
    for (let rest; (rest = changedAt + RELOAD_DEBOUNCE_MS - performance.now()) > 0;) await new Promise((r) => setTimeout(r, rest));
  };

  /** `early`: read before the debounce ended, so served only once it ends with the file unchanged. */
  async function reloadNow(early: boolean): Promise<boolean> {
    if (early && wasted) {
      // After one wasted read, as before early reads: the debounce, then the file as read is
      // served, so a file that changes more often than it loads is still served (a change during
      // the load reads it again), and a writer that pauses now and then costs one load, not one a pause.
      await untilQuiet();
      [early, wasted] = [false, false];
    }
    const seen = changes;
    const loaded = await load().then((next) => ({ next }), (err: unknown) => ({ err }));
    if (early) {
      await untilQuiet();
      // Neither served nor refused: the file changed under the read, and that change reloads it.
      if ((wasted = changes !== seen)) {
        options.logger?.debug({ file }, 'the policy file changed while it was read; it is read again');
        return false;
      }
    }
    if ('err' in loaded) {
      const message = loaded.err instanceof PolicyError ? loaded.err.message : String(loaded.err);
      status = { ...status, reloadError: { message, at: new Date() } };
      options.logger?.warn({ file, error: message }, 'policy reload refused; the last good policy stays in force');
      options.onReload?.(false);
      return false;
    }
    const { next } = loaded;
    const changed = next.version !== status.version;
    policy = next.policy;
    status = { file, version: next.version, loadedAt: changed ? new Date() : status.loadedAt };
    if (changed) options.logger?.info({ version: next.version }, 'policy reloaded');
    options.onReload?.(true);
    return true;
  }

  let again: Promise<boolean> | undefined;
  let againEarly = false;
  const reload = (early = false): Promise<boolean> => {
    if (!reloading) return (reloading = reloadNow(early).finally(() => (reloading = undefined)));
    // One reload at a time; a change during one may have come after it read the file, so read it
    // once more when it ends (however many changes came meanwhile), read early only if every
    // caller was a change: one who asked for a reload (SIGHUP) gets the file served as read.
    againEarly = again ? againEarly && early : early;
    again ??= reloading.then(() => {
      const asEarly = againEarly;
      [again, againEarly] = [undefined, false];
      return reload(asEarly);
    });
    return again;
  };

  let timer: NodeJS.Timeout | undefined;
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    // ConfigMap updates touch `..data` and timestamped directories rather than the file itself.
    if (changed && changed !== name && !changed.startsWith('..')) return;
    changes++;
    changedAt = performance.now();
    clearTimeout(timer);
    timer = setTimeout(() => void reload(true), READ_AFTER_MS);
  });
  watcher.unref();

  return {
    current: () => policy,
    status: () => status,
    reload: () => reload(),
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
