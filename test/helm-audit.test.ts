import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { find, renderChart } from './helpers/helm.ts';

type Container = { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] };

// The chart's audit settings: the signing key from a Secret of the user's own, and the sinks.
describe('the chart\'s audit settings', () => {
  const render = async (...set: string[]) => {
    const { manifests } = await renderChart('kv-audit', 'audit', set.flatMap((s) => ['--set', s]));
    const pod = (find(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    const env = Object.fromEntries(pod.containers[0]!.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    return { pod, env };
  };

  it('when a signing key Secret and an endpoint are named, then the key is mounted read-only and the settings are ones kubevend accepts', async () => {
    const { pod, env } = await render('audit.signingKey.existingSecret=ledger-key', 'audit.formerPublicKeys.existingSecret=ledger-old-keys',
      'audit.sinks.url=https://siem.example/ingest', 'audit.sinks.urlMode=fail-closed', 'audit.sinks.urlTokenSecret=siem-token', 'audit.sinks.stdout=best-effort');
    expect(env).toMatchObject({
      KUBEVEND_AUDIT_SIGNING_KEY_FILE: '/etc/kubevend/audit-signing-key/signing-key.pem',
      KUBEVEND_AUDIT_SIGNER_STATE_FILE: '/var/lib/kubevend/checkpoint-signer.json',
      KUBEVEND_AUDIT_PUBLIC_KEYS_FILE: '/etc/kubevend/audit-public-keys/public-keys.pem',
      KUBEVEND_AUDIT_SINK_URL: 'https://siem.example/ingest', KUBEVEND_AUDIT_SINK_URL_MODE: 'fail-closed',
      KUBEVEND_AUDIT_SINK_TOKEN_FILE: '/etc/kubevend/audit-sink-token/token', KUBEVEND_AUDIT_SINK_STDOUT: 'best-effort',
    });
    expect(pod.volumes.filter((v) => v.name.startsWith('audit-')).map((v) => [v.name, v.secret?.secretName]).sort())
      .toEqual([['audit-public-keys', 'ledger-old-keys'], ['audit-signing-key', 'ledger-key'], ['audit-sink-token', 'siem-token']]);
    expect(pod.containers[0]!.volumeMounts.filter((m) => m.name.startsWith('audit-')).length).toBe(3);
    const config = loadConfig({ ...env, KUBEVEND_POLICY_FILE: '/etc/kubevend/policy/policy.yaml' });
    expect(config).toMatchObject({ auditSigningKeyFile: env.KUBEVEND_AUDIT_SIGNING_KEY_FILE, auditSignerStateFile: env.KUBEVEND_AUDIT_SIGNER_STATE_FILE, auditSinks: { stdout: 'best-effort', http: { mode: 'fail-closed' } } });
  });

  it('when nothing is named, then no key is mounted and no checkpoint is signed', async () => {
    const { pod, env } = await render();
    expect(env.KUBEVEND_AUDIT_SIGNING_KEY_FILE).toBeUndefined();
    expect(pod.volumes.some((v) => v.name.startsWith('audit-'))).toBe(false);
  });
});
