// Latency summaries. Percentiles are nearest-rank over every sample (no histogram buckets), in ms.

export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  const sum = list.reduce((a, b) => a + b, 0);
  return {
    count: list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.at(-1) ?? NaN,
    mean: list.length ? sum / list.length : NaN,
  };
}

/** What one measured load produced: the raw samples travel so that rounds can be pooled. */
export interface LoadResult {
  /** Requests that got the expected status. */
  ok: number;
  /** Every other outcome, by status code or error name. */
  failures: Record<string, number>;
  elapsedMs: number;
  /** Latency of each successful request, ms. */
  samples: number[];
  /** CPU time the client process itself used for the measured requests, ms. */
  clientCpuMs: number;
}

/** Rounds of the same measurement, pooled: throughput over the summed time, percentiles over every sample. */
export function pool(results: LoadResult[]): { throughput: number; latency: Latency; ok: number; failures: Record<string, number>; clientCpuMs: number } {
  const failures: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  const ok = results.reduce((a, r) => a + r.ok, 0);
  const elapsed = results.reduce((a, r) => a + r.elapsedMs, 0);
  const clientCpuMs = results.reduce((a, r) => a + r.clientCpuMs, 0);
  return { throughput: ok / (elapsed / 1000), latency: summarise(results.flatMap((r) => r.samples)), ok, failures, clientCpuMs };
}
