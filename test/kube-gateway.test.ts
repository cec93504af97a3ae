import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Problem } from '../src/errors.ts';
import { createKubeGateway } from '../src/kube/gateway.ts';
import type { KubeManifest } from '../src/services/ports.ts';
import { createNamespace, deleteNamespaces, runTool } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';

// The gateway keeps its connections to the API server open between calls, yet reads the
// kubeconfig's certificate files on every call: credentials rotated on disk take effect at once.
describe('the gateway\'s connections to the API server', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ns: string;
  let kubeconfig: string;
  let admin: { cert: Buffer; key: Buffer };
  const [certFile, keyFile] = ['client.crt', 'client.key'];

  beforeAll(async () => {
    scratch = await scratchDir();
    ns = await createNamespace('gateway');
    // The admin kubeconfig, with its CA and client certificate in files rather than inline.
    const config = parse(await readFile(inject('kubeconfig'), 'utf8'));
    const { cluster } = config.clusters[0];
    const { user } = config.users[0];
    admin = { cert: Buffer.from(user['client-certificate-data'], 'base64'), key: Buffer.from(user['client-key-data'], 'base64') };
    await writeFile(join(scratch.dir, 'ca.crt'), Buffer.from(cluster['certificate-authority-data'], 'base64'));
    config.clusters[0].cluster = { server: cluster.server, 'certificate-authority': join(scratch.dir, 'ca.crt') };
    config.users[0].user = { 'client-certificate': join(scratch.dir, certFile), 'client-key': join(scratch.dir, keyFile) };
    kubeconfig = join(scratch.dir, 'files.kubeconfig');
    await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
    await useAdminCertificate();
  });

  afterAll(async () => {
    await deleteNamespaces(ns);
    await scratch?.cleanup();
  });

  async function useAdminCertificate() {
    await writeFile(join(scratch.dir, certFile), admin.cert);
    await writeFile(join(scratch.dir, keyFile), admin.key, { mode: 0o600 });
  }

  const secret = (name: string): KubeManifest => ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'kubevend-test' } } });

  it('when the client certificate files are replaced, then the next call presents the new certificate, and the one after the old again', async () => {
    const gateway = createKubeGateway([{ name: 'local', kubeconfig }]);
    expect((await gateway.create('local', secret('before'))).uid).toMatch(/^[0-9a-f-]{36}$/);

    // A certificate the API server does not trust: it authenticates no one, and the call is refused (401).
    const made = await runTool('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=stranger',
      '-keyout', join(scratch.dir, keyFile), '-out', join(scratch.dir, certFile)]);
    expect(made.code).toBe(0);
    const refused = await gateway.create('local', secret('stranger')).then(() => undefined, (err: Problem) => err);
    expect(refused?.code).toBe('kube_rejected');
    expect(refused?.message).toMatch(/Unauthorized/i);

    await useAdminCertificate();
    expect((await gateway.create('local', secret('after'))).uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when more objects carry the label than one page holds, then the list pages through all of them and no others', async () => {
    const gateway = createKubeGateway([{ name: 'local', kubeconfig }], { listPageSize: 2 });
    const labelled = (name: string, value: string): KubeManifest => ({ ...secret(name), metadata: { ...secret(name).metadata, labels: { 'kubevend-test/page': value } } });
    const made = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5'].map((name) => gateway.create('local', labelled(name, ns))));
    await gateway.create('local', labelled('other', `${ns}-other`));
    const listed = [];
    for await (const page of gateway.list('local', 'Secret', `kubevend-test/page=${ns}`)) listed.push(...page);
    expect(listed.map((o) => o.name).sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(listed.map((o) => o.uid).sort()).toEqual(made.map((m) => m.uid).sort());
  });

  it('when the API server\'s address is an IPv6 literal, then the gateway dials that address', async () => {
    // Nothing listens on port 1 of the IPv6 loopback: the call fails there, not in a name lookup of "[::1]".
    const config = parse(await readFile(kubeconfig, 'utf8'));
    config.clusters[0].cluster.server = 'https://[::1]:1';
    const ipv6 = join(scratch.dir, 'ipv6.kubeconfig');
    await writeFile(ipv6, stringify(config), { mode: 0o600 });
    const gateway = createKubeGateway([{ name: 'local', kubeconfig: ipv6 }]);
    const refused = await gateway.create('local', secret('ipv6')).then(() => undefined, (err: Problem) => err);
    expect(refused?.code).toBe('cluster_unreachable');
    expect(refused?.message).not.toContain('ENOTFOUND');
  });
});
