import type { Access } from '../policy/decide.ts';
import type { KubeManifest, ManagedKind, ObjectRef } from './ports.ts';

// Names, labels and manifests of what kubevend creates for one issuance. Every object carries the
// installation, the issuance id, the pipeline and its expiry, so revocation and the reaper find it
// by label alone.

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  issuance: 'kubevend.io/issuance',
  pipeline: 'kubevend.io/pipeline',
  part: 'kubevend.io/part',
  instance: 'kubevend.io/instance',
} as const;
export const EXPIRES_AT = 'kubevend.io/expires-at';

/** The installation of kubevend unless KUBEVEND_INSTANCE names another. */
export const DEFAULT_INSTANCE = 'kubevend';

/**
 * The objects one installation manages. Its reaper sweeps these and no others: another
 * installation's objects, which its own store does not know, are not strays.
 */
export function managedSelector(instance: string): string {
  return `${LABELS.managedBy}=kubevend,${LABELS.instance}=${instance}`;
}

export type Part = 'anchor' | 'service-account' | 'role' | 'binding' | 'token';

/** Every kind kubevend may create, in the order revocation deletes them. */
export const MANAGED_KINDS: ManagedKind[] = ['Secret', 'RoleBinding', 'ClusterRoleBinding', 'Role', 'ClusterRole', 'ServiceAccount'];

export interface IssuanceScope {
  /** The installation: KUBEVEND_INSTANCE. */
  instance: string;
  issuanceId: string;
  pipeline: string;
  namespace: string;
  expiresAt: Date;
}

/** `kv-<pipeline>-<issuance id>`: an operator can tell what it is; at most 63 characters. */
export function baseName(scope: IssuanceScope): string {
  const pipeline = scope.pipeline.slice(0, 63 - 4 - scope.issuanceId.length).replace(/-+$/, '');
  return `kv-${pipeline}-${scope.issuanceId}`;
}

function metadata(scope: IssuanceScope, part: Part, name: string, namespaced: boolean, owner?: { name: string; uid: string }) {
  return {
    name,
    ...(namespaced ? { namespace: scope.namespace } : {}),
    labels: {
      [LABELS.managedBy]: 'kubevend', [LABELS.instance]: scope.instance, [LABELS.issuance]: scope.issuanceId,
      [LABELS.pipeline]: scope.pipeline, [LABELS.part]: part,
    },
    annotations: { [EXPIRES_AT]: scope.expiresAt.toISOString() },
    // Namespaced objects go with their anchor; cluster-scoped ones cannot have a namespaced owner.
    ...(owner && namespaced ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: owner.name, uid: owner.uid, blockOwnerDeletion: false }] } : {}),
  };
}

/** The per-issuance Secret every token is bound to: deleting it revokes the issuance. */
export function anchorManifest(scope: IssuanceScope): KubeManifest {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: metadata(scope, 'anchor', `${baseName(scope)}`, true) };
}

/** The ServiceAccount, Role and binding of the generated modes, owned by the anchor. */
export function accessManifests(scope: IssuanceScope, access: Access, owner: { name: string; uid: string }): KubeManifest[] {
  if (access.mode === 'existing') return [];
  const name = `${baseName(scope)}`;
  const cluster = access.scope === 'cluster';
  const manifests: KubeManifest[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(scope, 'service-account', name, true, owner) },
  ];
  let roleRef = access.mode === 'bind' ? access.roleRef : { kind: cluster ? 'ClusterRole' : 'Role', name };
  if (access.mode === 'rules') {
    manifests.push({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: cluster ? 'ClusterRole' : 'Role',
      metadata: metadata(scope, 'role', name, !cluster, owner), rules: access.rules,
    });
    roleRef = { kind: cluster ? 'ClusterRole' : 'Role', name };
  }
  manifests.push({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: cluster ? 'ClusterRoleBinding' : 'RoleBinding',
    metadata: metadata(scope, 'binding', name, !cluster, owner),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: [{ kind: 'ServiceAccount', name, namespace: scope.namespace }],
  });
  return manifests;
}

/** A durable token: a Secret the token controller fills, not listed in the ServiceAccount's `.secrets`. */
export function durableTokenManifest(scope: IssuanceScope, serviceAccount: string, owner: { name: string; uid: string }): KubeManifest {
  const meta = metadata(scope, 'token', `${baseName(scope)}-token`.slice(0, 253), true, owner);
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
    metadata: { ...meta, annotations: { ...meta.annotations, 'kubernetes.io/service-account.name': serviceAccount } },
  };
}

/** Every object an issuance will create, anchor first: the write-ahead record's plan. */
export function plannedObjects(scope: IssuanceScope, access: Access, tokenKind: 'short-lived' | 'durable'): ObjectRef[] {
  const placeholder = { name: '', uid: '' };
  const manifests = [
    anchorManifest(scope),
    ...accessManifests(scope, access, placeholder),
    ...(tokenKind === 'durable' ? [durableTokenManifest(scope, serviceAccountOf(scope, access), placeholder)] : []),
  ];
  return manifests.map(({ kind, metadata: { name, namespace } }) => ({ kind, name, ...(namespace ? { namespace } : {}) }));
}

/** The ServiceAccount whose token is issued. */
export function serviceAccountOf(scope: IssuanceScope, access: Access): string {
  return access.mode === 'existing' ? access.serviceAccount : baseName(scope);
}
