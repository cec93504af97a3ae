import { randomBytes } from 'node:crypto';
import { recordHash } from '../../src/store/audit-chain.ts';
import { toAuditRow } from '../../src/store/audit-rows.ts';
import type { AuditRecord } from '../../src/store/ports.ts';
import type { AuditRecordsTable } from '../../src/store/schema.ts';

// Ledger rows as kubevend writes them: granted issuances spread evenly over ten pipelines, each
// chained to the one before with the store's own hash, so that the loaded ledger verifies.

export const pipelines = Array.from({ length: 10 }, (_, i) => `pipeline-${i}`);
const start = Date.UTC(2025, 0, 1);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function ledgerRow(id: number, prevHash: string): AuditRecordsTable {
  const pipeline = pipelines[id % pipelines.length]!;
  const issuanceId = hex(13);
  const fields: Omit<AuditRecord, 'prevHash' | 'hash'> = {
    id,
    time: new Date(start + id * 30_000),
    requestId: hex(16),
    kind: 'issuance',
    outcome: 'granted',
    reasonCode: null,
    reason: null,
    clientAddress: '10.1.2.3',
    issuer: 'ci',
    claims: { repository: `acme/${pipeline}`, ref: 'refs/heads/main', sha: hex(20), workflow: 'deploy', runId: `${1_000_000 + id}`, actor: 'octocat', jti: hex(16) },
    pipeline,
    grant: `${pipeline}[0]`,
    cluster: 'prod-eu',
    namespace: 'web',
    serviceAccount: 'deployer',
    objects: [{ kind: 'Secret', name: `kv-${pipeline}-${issuanceId}`, namespace: 'web' }],
    requestedTtlSeconds: null,
    actualTtlSeconds: 900,
    audiences: [],
    tokenKind: 'short-lived',
    kubeTokenJti: `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`,
    tokenFingerprint: `hmac-sha256:${randomBytes(32).toString('base64url')}`,
    issuanceId,
  };
  return toAuditRow({ ...fields, prevHash, hash: recordHash(prevHash, fields) });
}
