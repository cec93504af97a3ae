{{/*
kubevend's own permissions, one ClusterRole per capability, as deploy/rbac in the project has them
(a test compares the two). Each entry: the capability's rules and whether it is bound per namespace
(RoleBindings in rbac.namespaces, when listed) or always cluster-wide.
*/}}
{{- define "kubevend.rbacRoles" -}}
{{- $rbac := .Values.rbac }}
{{- $core := list "" }}
{{- $rbacGroup := list "rbac.authorization.k8s.io" }}
issue:
  namespaced: true
  rules:
    - { apiGroups: {{ $core | toJson }}, resources: [secrets], verbs: [create, delete] }
    - { apiGroups: {{ $core | toJson }}, resources: [serviceaccounts/token], verbs: [create] }
{{- if $rbac.modes.generate }}
generate:
  namespaced: true
  rules:
    - { apiGroups: {{ $core | toJson }}, resources: [serviceaccounts], verbs: [create, delete] }
    - { apiGroups: {{ $rbacGroup | toJson }}, resources: [roles, rolebindings], verbs: [create, delete] }
{{- end }}
{{- if $rbac.modes.clusterScope }}
cluster-scope:
  namespaced: false
  rules:
    - { apiGroups: {{ $rbacGroup | toJson }}, resources: [clusterroles, clusterrolebindings], verbs: [create, delete] }
{{- end }}
{{- if $rbac.modes.durable }}
durable:
  namespaced: true
  rules:
    - { apiGroups: {{ $core | toJson }}, resources: [secrets], verbs: [get, list, watch] }
{{- end }}
{{- if $rbac.modes.sweep }}
sweep:
  namespaced: false
  rules:
    - { apiGroups: {{ $core | toJson }}, resources: [serviceaccounts], verbs: [list] }
    - { apiGroups: {{ $rbacGroup | toJson }}, resources: [roles, rolebindings, clusterroles, clusterrolebindings], verbs: [list] }
{{- end }}
{{- with include "kubevend.grantableRules" $rbac.grantable }}
grantable:
  namespaced: true
  rules:
    {{- . | nindent 4 }}
{{- end }}
{{- with include "kubevend.grantableRules" $rbac.clusterGrantable }}
grantable-cluster:
  namespaced: false
  rules:
    {{- . | nindent 4 }}
{{- end }}
{{- end }}

{{/* `bind` on the named roles and the permissions rules grants hand out; empty when there are none. */}}
{{- define "kubevend.grantableRules" -}}
{{- range $resource, $names := dict "roles" .roles "clusterroles" .clusterRoles }}
{{- if $names }}
- apiGroups: [rbac.authorization.k8s.io]
  resources: [{{ $resource }}]
  verbs: [bind]
  resourceNames: {{ $names | toJson }}
{{- end }}
{{- end }}
{{- with .rules }}
{{ toYaml . }}
{{- end }}
{{- end }}
