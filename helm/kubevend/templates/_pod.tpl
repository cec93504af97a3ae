{{/* kubevend's environment: the image sets KUBEVEND_HOST; the rest comes from values. */}}
{{- define "kubevend.env" -}}
- { name: KUBEVEND_PORT, value: "8080" }
- { name: KUBEVEND_POLICY_FILE, value: /etc/kubevend/policy/policy.yaml }
- { name: KUBEVEND_LOG_LEVEL, value: {{ .Values.config.logLevel | quote }} }
- { name: KUBEVEND_TRUST_PROXY, value: {{ .Values.config.trustProxy | toString | quote }} }
- { name: KUBEVEND_REAPER_INTERVAL, value: {{ .Values.config.reaperInterval | toString | quote }} }
- { name: KUBEVEND_AUDIT_RETENTION, value: {{ .Values.config.auditRetention | toString | quote }} }
- { name: KUBEVEND_DURABLE_TOKEN_TIMEOUT, value: {{ .Values.config.durableTokenTimeout | toString | quote }} }
{{- /* The installation: releases that share a cluster must not sweep each other's objects. */}}
- { name: KUBEVEND_INSTANCE, value: {{ printf "%s.%s" .Release.Namespace .Release.Name | trunc 63 | trimSuffix "-" | trimSuffix "." | quote }} }
- { name: KUBEVEND_NAMESPACE, value: {{ .Release.Namespace | quote }} }
{{- if eq .Values.storage.type "sqlite" }}
- { name: KUBEVEND_DATABASE_URL, value: sqlite:///var/lib/kubevend/kubevend.db }
{{- else }}
- name: KUBEVEND_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "kubevend.databaseSecret" . }}
      key: {{ ternary .Values.storage.postgres.existingSecretKey "url" (ne .Values.storage.postgres.existingSecret "") }}
{{- end }}
{{- if include "kubevend.fingerprintKeySecret" . }}
- name: KUBEVEND_FINGERPRINT_KEY_FILE
  value: /etc/kubevend/fingerprint-key/{{ ternary .Values.fingerprintKey.existingSecretKey "fingerprint-key" (ne .Values.fingerprintKey.existingSecret "") }}
{{- end }}
{{- with .Values.audit }}
- { name: KUBEVEND_AUDIT_CHECKPOINT_RECORDS, value: {{ .checkpointRecords | toString | quote }} }
- { name: KUBEVEND_AUDIT_CHECKPOINT_INTERVAL, value: {{ .checkpointInterval | toString | quote }} }
- { name: KUBEVEND_AUDIT_SINK_STDOUT, value: {{ .sinks.stdout | quote }} }
- { name: KUBEVEND_AUDIT_SINK_BUFFER, value: {{ .sinks.buffer | toString | quote }} }
{{- if .signingKey.existingSecret }}
- { name: KUBEVEND_AUDIT_SIGNING_KEY_FILE, value: /etc/kubevend/audit-signing-key/{{ .signingKey.existingSecretKey }} }
{{- /* What the signer signed, kept beside the ledger's volume rather than in its tables; PostgreSQL's replicas have no volume of their own and keep it in memory. */}}
{{- if eq $.Values.storage.type "sqlite" }}
- { name: KUBEVEND_AUDIT_SIGNER_STATE_FILE, value: /var/lib/kubevend/checkpoint-signer.json }
{{- end }}
{{- end }}
{{- if .formerPublicKeys.existingSecret }}
- { name: KUBEVEND_AUDIT_PUBLIC_KEYS_FILE, value: /etc/kubevend/audit-public-keys/{{ .formerPublicKeys.existingSecretKey }} }
{{- end }}
{{- if .sinks.url }}
- { name: KUBEVEND_AUDIT_SINK_URL, value: {{ .sinks.url | quote }} }
- { name: KUBEVEND_AUDIT_SINK_URL_MODE, value: {{ .sinks.urlMode | quote }} }
{{- if .sinks.urlTokenSecret }}
- { name: KUBEVEND_AUDIT_SINK_TOKEN_FILE, value: /etc/kubevend/audit-sink-token/token }
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Where pods may run; replicas spread over nodes unless `affinity` says otherwise. */}}
{{- define "kubevend.scheduling" -}}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if and (gt (int .Values.replicaCount) 1) (ne .Values.podAntiAffinity "none") }}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "kubevend.selectorLabels" . | fromYaml)) }}
affinity:
  podAntiAffinity:
    {{- if eq .Values.podAntiAffinity "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      {{- toYaml (list $term) | nindent 6 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      {{- toYaml (list (dict "weight" 100 "podAffinityTerm" $term)) | nindent 6 }}
    {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
