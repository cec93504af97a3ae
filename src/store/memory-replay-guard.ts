import type { ReplayGuard } from '../services/ports.ts';

/** Replay protection for a single process (tests, and one replica without a shared store). */
export function memoryReplayGuard(now: () => number = Date.now): ReplayGuard {
  const seen = new Map<string, number>();
  let nextSweep = 0;
  const sweep = () => {
    const t = now();
    if (t < nextSweep) return;
    for (const [key, expires] of seen) if (expires <= t) seen.delete(key);
    nextSweep = t + 60_000;
  };
  return {
    async acceptOnce(issuer, jti, expiresAt) {
      sweep();
      const key = JSON.stringify([issuer, jti]);
      if (seen.has(key)) return false;
      seen.set(key, expiresAt.getTime());
      return true;
    },
    async release(issuer, jti) {
      seen.delete(JSON.stringify([issuer, jti]));
    },
  };
}
