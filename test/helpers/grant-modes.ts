import type { ExpectStatic } from 'vitest';
import { githubClaims, type TestIssuer } from './ci-issuer.ts';
import { createViewerServiceAccount, kubectlOk } from './cluster.ts';
import type { Kubevend } from './kubevend.ts';
import { can, labelled, saveKubeconfig } from './vended.ts';

/** Every grant mode kubevend has, namespaced and cluster-scoped; a pipeline each, matched by a `mode` claim. */
export const grantModes: Record<string, object> = {
  existing: { serviceAccount: 'deployer' },
  'bind-role': { bind: { role: 'deployer-role' } },
  'bind-view': { bind: { clusterRole: 'view' } },
  'bind-view-cluster': { bind: { clusterRole: 'view' }, scope: 'cluster' },
  rules: { rules: [{ resources: ['configmaps'], verbs: ['get', 'list'] }] },
  'rules-cluster': { rules: [{ resources: ['namespaces'], verbs: ['get', 'list'] }], scope: 'cluster' },
};

/** Each mode with each token kind. */
export const modeCases = Object.keys(grantModes).flatMap((m) => [[m, 'short-lived'], [m, 'durable']] as const);

/** What the modes refer to in a namespace: a ServiceAccount `deployer` that may view, a Role `deployer-role`. */
export async function prepareModeNamespace(namespace: string): Promise<void> {
  await createViewerServiceAccount(namespace, 'deployer');
  await kubectlOk(['-n', namespace, 'create', 'role', 'deployer-role', '--verb=get,list', '--resource=configmaps']);
}

/** A policy with a pipeline per mode (and `more` besides) in one namespace of the cluster behind `kubeconfig`. */
export function modePolicy(ci: TestIssuer, kubeconfig: string, namespace: string, more: Record<string, object> = {}) {
  return {
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
    clusters: [{ name: 'local', kubeconfig }],
    pipelines: Object.entries({ ...grantModes, ...more }).map(([name, mode]) => ({
      name, issuer: 'ci', match: { mode: name },
      grants: [{ cluster: 'local', namespace, kinds: ['short-lived', 'durable'], ...mode }],
    })),
  };
}

/** A CI job of the mode's pipeline asks for a credential. */
export async function vend(kv: Kubevend, ci: TestIssuer, mode: string, kind = 'short-lived') {
  return kv.app.inject({ method: 'POST', url: '/v1/credentials', payload: { kind }, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode }))}` } });
}

/** Vends in the mode, uses the kubeconfig as the job would, revokes as the job, and finds nothing left. */
export async function issueUseRevoke(kv: Kubevend, ci: TestIssuer, dir: string, namespace: string, [mode, kind]: readonly [string, string], expect: ExpectStatic) {
  const res = await vend(kv, ci, mode, kind);
  expect(res.statusCode, res.body).toBe(201);
  const kubeconfig = await saveKubeconfig(dir, res.json().kubeconfig);
  const [verb, resource, where] = mode === 'rules-cluster' ? ['list', 'namespaces', undefined]
    : mode === 'rules' || mode === 'bind-role' ? ['list', 'configmaps', namespace] : ['list', 'pods', namespace];
  expect(await can(kubeconfig, verb!, resource!, where)).toBe(true);
  const id = res.json().issuanceId;
  const revoked = await kv.app.inject({ method: 'DELETE', url: `/v1/issuances/${id}`, headers: { authorization: `Bearer ${await ci.mint(githubClaims('acme/web', { mode }))}` } });
  expect(revoked.statusCode, revoked.body).toBe(200);
  expect(await labelled(`kubevend.io/issuance=${id}`)).toEqual([]);
}
