import { randomBytes } from 'node:crypto';
import type { AuditRecordInput } from '../../src/store/ports.ts';

// No vitest imports here: store-worker.ts, which runs outside vitest, uses this too.

/** A granted issuance record, as the credential service would append it. */
export function grantedRecord(overrides: Partial<AuditRecordInput> = {}): AuditRecordInput {
  return {
    kind: 'issuance',
    outcome: 'granted',
    requestId: randomBytes(8).toString('hex'),
    reasonCode: 'granted',
    reason: 'pipeline web-deploy grant 0',
    clientAddress: '127.0.0.1',
    issuer: 'https://ci.example.com',
    claims: { repository: 'acme/web', ref: 'refs/heads/main', sha: 'f00d', workflow: 'deploy', runId: '42', actor: 'ada', jti: randomBytes(8).toString('hex') },
    pipeline: 'web-deploy',
    grant: 'web-deploy/0',
    cluster: 'prod-eu',
    namespace: 'web',
    serviceAccount: 'deployer',
    objects: [{ kind: 'Secret', name: 'kubevend-anchor-1', namespace: 'web' }],
    requestedTtlSeconds: 900,
    actualTtlSeconds: 900,
    audiences: ['https://kubernetes.default.svc'],
    tokenKind: 'short-lived',
    kubeTokenJti: randomBytes(8).toString('hex'),
    tokenFingerprint: randomBytes(16).toString('hex'),
    issuanceId: randomBytes(8).toString('hex'),
    ...overrides,
  };
}
