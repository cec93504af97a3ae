import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import pkg from '../package.json' with { type: 'json' };
import { observeState, type ObservedState } from './metrics-state.ts';
import type { Telemetry } from './services/ports.ts';

/**
 * kubevend's Prometheus metrics, on a registry of their own (no global state between apps). Node's
 * process and runtime metrics keep their standard names (`process_cpu_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, ...), so that the dashboards made for them work as they are.
 * `commit` is the source revision the build came from, when known (KUBEVEND_COMMIT).
 */
export function createMetrics(options: { commit?: string } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'kubevend_build_info', help: 'Always 1; the labels say which kubevend runs, on which Node.js, built from which commit',
    labelNames: ['version', 'node_version', 'commit'] as const, registers,
  }).set({ version: pkg.version, node_version: process.version, commit: options.commit ?? '' }, 1);
  const issuances = new Counter({
    name: 'kubevend_issuances_total',
    help: 'Credential requests by outcome (granted, denied, failed), pipeline, cluster, grant mode and problem code',
    labelNames: ['outcome', 'pipeline', 'cluster', 'mode', 'code'] as const, registers,
  });
  const kubeRequests = new Histogram({
    name: 'kubevend_kube_request_duration_seconds',
    help: 'Kubernetes API calls by cluster, verb and result code (ok, or the problem code)',
    labelNames: ['cluster', 'verb', 'code'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15], registers,
  });
  const reaperRuns = new Counter({ name: 'kubevend_reaper_runs_total', help: 'Reaper runs by result', labelNames: ['result'] as const, registers });
  const reaped = new Counter({
    name: 'kubevend_reaper_removed_total', help: 'Issuances the reaper cleaned up, by reason (expired, abandoned, strays)',
    labelNames: ['reason'] as const, registers,
  });
  const refusals = new Counter({
    name: 'kubevend_refusals_total',
    help: 'Requests kubevend said no to (answered with a problem that is a denial), by problem code, on every route',
    labelNames: ['code'] as const, registers,
  });
  const telemetry: Telemetry = {
    refusal: (code) => refusals.inc({ code }),
    issuance: (outcome, l) => issuances.inc({ outcome, pipeline: l.pipeline ?? '', cluster: l.cluster ?? '', mode: l.mode ?? '', code: l.code ?? '' }),
    kubeCall: (cluster, verb, seconds, code) => kubeRequests.observe({ cluster, verb, code }, seconds),
    reaperRun: (result, removed) => {
      reaperRuns.inc({ result });
      for (const [reason, n] of Object.entries(removed)) if (n) reaped.inc({ reason }, n);
    },
  };
  const sinkDropped = new Counter({
    name: 'kubevend_audit_sink_dropped_records_total',
    help: 'Audit records (and checkpoints) a sink did not take: its buffer was full, or it was still down at shutdown',
    labelNames: ['sink'] as const, registers,
  });
  return {
    registry,
    telemetry,
    auditSinkDropped: (sink: string, count: number) => sinkDropped.inc({ sink }, count),
    auditCheckpointRefused: new Gauge({
      name: 'kubevend_audit_checkpoint_refused',
      help: '1 while the checkpoint signer refuses to sign: the ledger does not extend what was signed (run audit:verify)',
      registers,
    }),
    /** Reads the live credentials, the store's health and the clusters' at each scrape from these. */
    observe: (state: ObservedState) => observeState(registers, state),
    httpRequests: new Histogram({
      name: 'kubevend_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15], registers,
    }),
    policyReloads: new Counter({
      name: 'kubevend_policy_reloads_total',
      help: 'Policy reloads by result (ok: swapped in; refused: invalid, the last good policy stays)',
      labelNames: ['result'] as const, registers,
    }),
    policyReloadOk: new Gauge({
      name: 'kubevend_policy_last_reload_success',
      help: '1 when the newest policy file on disk is the one in force, 0 when it was refused',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
