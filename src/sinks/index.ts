import { Problem } from '../errors.ts';
import type { Checkpoint } from '../ledger/checkpoint.ts';
import type { AuditRecord } from '../store/ports.ts';
import { SinkFailure, type SinkQueue } from './queue.ts';

/** One JSON line per record: the record as the API shows it, under a type a SIEM can route on. */
export const recordLine = (record: AuditRecord) => `${JSON.stringify({ type: 'kubevend.audit.record', record })}\n`;
export const checkpointLine = (checkpoint: Checkpoint) => `${JSON.stringify({ type: 'kubevend.audit.checkpoint', checkpoint })}\n`;

/**
 * The ledger's committed records fanned out to every sink. `delivered` is how the credential
 * service holds a credential back until its records reached every fail-closed sink.
 */
export function createAuditSinks(sinks: SinkQueue[]) {
  const failClosed = sinks.some((s) => s.mode === 'fail-closed');
  // Keyed by the records the ledger handed back, so nothing outlives them.
  const deliveries = new WeakMap<AuditRecord, Promise<Error | undefined>>();
  return {
    publish(records: AuditRecord[]) {
      for (const record of records) {
        const line = recordLine(record);
        const waits = sinks.map((s) => s.push(line));
        if (failClosed) deliveries.set(record, Promise.all(waits).then(() => undefined, (err: Error) => err));
      }
    },
    checkpoint(checkpoint: Checkpoint) {
      const line = checkpointLine(checkpoint);
      for (const s of sinks) s.push(line).catch(() => undefined);
    },
    /** Resolves once `records` reached every fail-closed sink; otherwise a 503 audit_sink_unavailable. */
    async delivered(records: AuditRecord[]): Promise<void> {
      if (!failClosed) return;
      for (const record of records) {
        const err = await deliveries.get(record);
        // The sink's name and a fixed reason (SinkFailure): the caller never sees what the transport said.
        if (err) throw new Problem('audit_sink_unavailable', `${err instanceof SinkFailure ? err.message : 'an audit sink failed'}; nothing was handed out`, { retryAfter: 5 });
      }
    },
    close: () => Promise.all(sinks.map((s) => s.close())),
  };
}

export type AuditSinks = ReturnType<typeof createAuditSinks>;
