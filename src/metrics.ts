import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** kubevend's Prometheus metrics, on a registry of their own (no global state between apps). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubevend_' });
  return {
    registry,
    policyReloads: new Counter({
      name: 'kubevend_policy_reloads_total',
      help: 'Policy reloads by result (ok: swapped in; refused: invalid, the last good policy stays)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    policyReloadOk: new Gauge({
      name: 'kubevend_policy_last_reload_success',
      help: '1 when the newest policy file on disk is the one in force, 0 when it was refused',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
