import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderEnv, renderExecCredential, renderKubeconfig, type CredentialFormat } from '../../services/credential-formats.ts';
import type { IssuedCredential } from '../../services/issue-credentials.ts';
import { logOutcome } from '../../plugins/request-log.ts';

/** Answers 201 with the credential in the format asked: the body's `format`, else the Accept header. */
export function sendCredential(request: FastifyRequest, reply: FastifyReply, format: CredentialFormat, credential: IssuedCredential) {
  const { pipeline, issued } = credential;
  reply.code(201).header('cache-control', 'no-store');
  // Every format names its ledger records, so that a job saving a bare kubeconfig can ask for its receipts too.
  reply.header('kubevend-audit-records', issued.map((i) => receiptPath(i.auditRecord)).join(', '));
  logOutcome(request, reply, 'info', { issuances: issued.map((i) => i.issuanceId), pipeline, clusters: issued.map((i) => i.cluster) }, 'credential issued');
  if (format === 'kubeconfig' || (format === 'json' && wantsYaml(request.headers.accept))) {
    return reply.type('application/yaml').send(renderKubeconfig(issued));
  }
  if (format === 'exec-credential') return reply.type('application/json').send(renderExecCredential(issued[0]!));
  if (format === 'env') return reply.type('text/plain').send(renderEnv(issued));
  const described = issued.map((i) => ({
    issuanceId: i.issuanceId, cluster: i.cluster, namespace: i.namespace, serviceAccount: i.serviceAccount,
    kind: i.tokenKind, expiresAt: i.expiresAt.toISOString(), warnings: i.warnings,
    audit: { recordId: i.auditRecord.id, recordHash: i.auditRecord.hash, receipt: receiptPath(i.auditRecord) },
  }));
  return reply.send({ ...described[0]!, pipeline, kubeconfig: renderKubeconfig(issued), issuances: described });
}

const receiptPath = (record: { id: number; receiptKey: string }) => `/v1/audit/receipts/${record.id}?key=${record.receiptKey}`;

function wantsYaml(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*(application|text)\/(x-)?yaml\b/i.test(accept);
}
