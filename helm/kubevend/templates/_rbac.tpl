{{/*
kubevend's own permissions, one ClusterRole per capability, as deploy/rbac in the project has them
(a test compares the two). Each entry: the capability's rules and whether it is bound per namespace
(RoleBindings in kubevend.rbacNamespaces, unless rbac.clusterWide) or always cluster-wide.
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

{{/*
The namespaces kubevend issues into, as a JSON list: those its policy's grants name on the cluster it
runs in (the only one where its ServiceAccount acts), and rbac.namespaces. A templated namespace, or a
policy the chart cannot read, names no namespace: rather than bind nowhere and fail every request, or
everywhere and let kubevend reach kube-system, the chart refuses until the values say which.
*/}}
{{- define "kubevend.rbacNamespaces" -}}
{{- $rbac := .Values.rbac }}
{{- $namespaces := list }}
{{- $templated := list }}
{{- if not .Values.policy.existingConfigMap }}
{{- $inCluster := list }}
{{- range .Values.policy.content.clusters }}
{{- if .inCluster }}{{ $inCluster = append $inCluster .name }}{{ end }}
{{- end }}
{{- range .Values.policy.content.pipelines }}
{{- range .grants }}
{{- $here := false }}
{{- range kindIs "slice" .cluster | ternary .cluster (list .cluster) }}
{{- if has . $inCluster }}{{ $here = true }}{{ end }}
{{- end }}
{{- if $here }}
{{- range kindIs "slice" .namespace | ternary .namespace (list .namespace) }}
{{- if contains "{{" . }}
{{- $templated = append $templated . }}
{{- else }}
{{- $namespaces = append $namespaces . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if not (or $rbac.namespaces $rbac.clusterWide) }}
{{- $choice := "list them in rbac.namespaces (a RoleBinding in each), or set rbac.clusterWide: true to let kubevend mint a token for any ServiceAccount in any namespace, kube-system included" }}
{{- if .Values.policy.existingConfigMap }}
{{- fail (printf "the policy is in ConfigMap %s, which the chart cannot read: it cannot tell the namespaces kubevend issues into. Set them: %s" .Values.policy.existingConfigMap $choice) }}
{{- else if $templated }}
{{- fail (printf "the policy names templated namespaces (%s): the chart cannot tell the namespaces they render to. Set them: %s" (join ", " (uniq $templated)) $choice) }}
{{- end }}
{{- end }}
{{- concat $namespaces $rbac.namespaces | uniq | toJson }}
{{- end }}
