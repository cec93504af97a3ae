import { problemOf } from '../errors.ts';
import type { SuspensionView } from '../policy/decide.ts';
import type { Store, Suspension } from '../store/ports.ts';

/**
 * The suspensions in force, read from the store at most every `maxAgeMs`. A stale view can only let
 * a request start that its grant then refuses: the grant's transaction checks the store itself.
 */
export function createSuspensionCache(store: Store, maxAgeMs = 1000) {
  let cached: { at: number; view: SuspensionView; list: Suspension[] } | undefined;
  let loading: Promise<SuspensionView> | undefined;

  async function load(): Promise<SuspensionView> {
    let list: Suspension[];
    try {
      list = await store.suspensions.list();
    } catch (err) {
      // Fail closed: without knowing what is suspended, nothing is issued.
      throw problemOf(err, 'the suspensions cannot be read; nothing is issued');
    }
    const keys = new Set(list.map((s) => `${s.pipeline}\u0000${s.cluster ?? ''}`));
    const view: SuspensionView = { isSuspended: (pipeline, cluster) => keys.has(`${pipeline}\u0000`) || keys.has(`${pipeline}\u0000${cluster}`) };
    cached = { at: Date.now(), view, list };
    return view;
  }

  return {
    async current(): Promise<SuspensionView> {
      if (cached && Date.now() - cached.at < maxAgeMs) return cached.view;
      loading ??= load().finally(() => (loading = undefined));
      return loading;
    },
    /** Forgets the cached view, after this replica changed a suspension. */
    invalidate(): void {
      cached = undefined;
    },
  };
}

export type SuspensionCache = ReturnType<typeof createSuspensionCache>;
