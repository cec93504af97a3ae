{{/* The chart's name, or nameOverride. */}}
{{- define "kubevend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: names every object; DNS names are at most 63 characters. */}}
{{- define "kubevend.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubevend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubevend.labels" -}}
helm.sh/chart: {{ include "kubevend.chart" . }}
{{ include "kubevend.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kubevend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubevend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubevend.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubevend.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubevend.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "kubevend.fullname" .)) .Values.policy.existingConfigMap }}
{{- end }}

{{/* Secrets: an existing one named in values, or the chart's own; empty when there is none. */}}
{{- define "kubevend.databaseSecret" -}}
{{- default (printf "%s-database" (include "kubevend.fullname" .)) .Values.storage.postgres.existingSecret }}
{{- end }}

{{/* The audit Secrets to mount, by volume name (each at /etc/kubevend/<name>). */}}
{{- define "kubevend.auditSecrets" -}}
{{- with .Values.audit }}
{{- if .signingKey.existingSecret }}
audit-signing-key: {{ .signingKey.existingSecret }}
{{- end }}
{{- if .formerPublicKeys.existingSecret }}
audit-public-keys: {{ .formerPublicKeys.existingSecret }}
{{- end }}
{{- if .sinks.urlTokenSecret }}
audit-sink-token: {{ .sinks.urlTokenSecret }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubevend.fingerprintKeySecret" -}}
{{- if .Values.fingerprintKey.existingSecret }}
{{- .Values.fingerprintKey.existingSecret }}
{{- else if eq .Values.storage.type "postgres" }}
{{- printf "%s-fingerprint-key" (include "kubevend.fullname" .) }}
{{- end }}
{{- end }}

{{- define "kubevend.issuerKeysSecret" -}}
{{- if .Values.issuerKeys.existingSecret }}
{{- .Values.issuerKeys.existingSecret }}
{{- else if .Values.issuerKeys.files }}
{{- printf "%s-issuer-keys" (include "kubevend.fullname" .) }}
{{- end }}
{{- end }}

{{- define "kubevend.clusterKubeconfigsSecret" -}}
{{- if .Values.clusterKubeconfigs.existingSecret }}
{{- .Values.clusterKubeconfigs.existingSecret }}
{{- else if .Values.clusterKubeconfigs.files }}
{{- printf "%s-cluster-kubeconfigs" (include "kubevend.fullname" .) }}
{{- end }}
{{- end }}
