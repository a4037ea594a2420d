{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "bio.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: release-chart unless the release name already holds it. */}}
{{- define "bio.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "bio.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bio.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bio.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bio.labels" -}}
helm.sh/chart: {{ include "bio.chart" . }}
{{ include "bio.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "bio.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bio.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret holding AZURE_CLIENT_SECRET, or "" when none is configured. */}}
{{- define "bio.clientSecretName" -}}
{{- $cs := .Values.azure.clientSecret -}}
{{- if and $cs.create $cs.existingSecret -}}
{{- fail "azure.clientSecret: set either existingSecret or create, not both" -}}
{{- else if $cs.create -}}
{{- printf "%s-azure" (include "bio.fullname" .) -}}
{{- else if $cs.existingSecret -}}
{{- $cs.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "bio.allowListName" -}}
{{- printf "%s-allowlist" (include "bio.fullname" .) -}}
{{- end -}}

{{/* The rules every mode grants on the operator's own resources (Role or ClusterRole). */}}
{{- define "bio.resourceRules" -}}
- apiGroups: ["batchimage.dev"]
  resources: ["managedimages", "batchpools"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["batchimage.dev"]
  resources: ["managedimages/status", "batchpools/status"]
  verbs: ["patch"]
# Kopf posts core/v1 events and never edits one; no other component's events are ours.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .Values.azure.namespaceCredentialSecret }}
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: [{{ .Values.azure.namespaceCredentialSecret | quote }}]
  verbs: ["get"]
{{- end }}
{{- end -}}

{{/* CRD discovery: always cluster-scoped (CRDs are cluster objects). */}}
{{- define "bio.crdRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
{{- end -}}

{{/*
The leader election Lease (in the release namespace).
*/}}
{{- define "bio.leaseName" -}}
{{- (.Values.leaderElection | default dict).leaseName | default (include "bio.fullname" .) }}
{{- end }}
