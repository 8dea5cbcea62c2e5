{{/*
Names, labels and the component table. Templates include these and never repeat label blocks.
*/}}

{{/* Chart name, truncated: Kubernetes names are DNS labels (63 characters). */}}
{{- define "tds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name; 63 characters because some fields are DNS labels. */}}
{{- define "tds.fullname" -}}
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

{{/*
A component's name: the fullname truncated to 44 characters first, so that the longest suffix
("-bulk-sync-operator", 19) still fits in 63.
Usage: include "tds.componentFullname" (dict "root" $ "component" "ingest")
*/}}
{{- define "tds.componentFullname" -}}
{{- printf "%s-%s" (include "tds.fullname" .root | trunc 44 | trimSuffix "-") .component | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of an object placed in another namespace than the release's (dashboards, ServiceMonitor,
PrometheusRule in a shared `monitoring` namespace): the fullname plus the release namespace, so
that releases of the same name in two namespaces do not claim one object (helm refuses the
second install). In the release namespace it is the fullname.
Usage: include "tds.sharedName" (dict "root" $ "namespace" "monitoring")
*/}}
{{- define "tds.sharedName" -}}
{{- $fullname := include "tds.fullname" .root -}}
{{- if and .namespace (ne .namespace .root.Release.Namespace) -}}
{{- printf "%s-%s" $fullname .root.Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $fullname -}}
{{- end -}}
{{- end -}}

{{- define "tds.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name and instance only (selectors are immutable after the first release). */}}
{{- define "tds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels for objects that belong to the whole release. */}}
{{- define "tds.labels" -}}
helm.sh/chart: {{ include "tds.chart" . }}
{{ include "tds.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tds
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component. Usage: (dict "root" $ "component" "ingest") */}}
{{- define "tds.componentSelectorLabels" -}}
{{ include "tds.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Standard labels of one component. Usage: (dict "root" $ "component" "ingest") */}}
{{- define "tds.componentLabels" -}}
{{ include "tds.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
The component table: what differs between the services, in one place.
  valuesKey: the block in values.yaml; envPrefix: the service's settings prefix;
  port: the HTTP port (API, /health, /ready, /metrics); module: `python -m <module>`;
  image: the default image name; secrets: which Secret references the component gets
  (database, zoho, webhooks, proxyKey; the operator talks to bulk-sync's API only, so none); metrics: whether it serves /metrics; ready: whether it
  serves /ready (the kopf operator has a liveness endpoint only).
*/}}
{{- define "tds.componentTable" -}}
ingest:
  valuesKey: ingest
  envPrefix: INGEST_
  port: 8001
  module: ingest
  image: tds-ingest
  secrets: [webhooks, kafka]
  metrics: true
  ready: true
processor:
  valuesKey: processor
  envPrefix: PROCESSOR_
  port: 8002
  module: processor
  image: tds-processor
  secrets: [database, kafka]
  metrics: true
  ready: true
bulk-sync:
  valuesKey: bulkSync
  envPrefix: BULK_SYNC_
  port: 8003
  module: bulk_sync
  image: tds-bulk-sync
  secrets: [database, kafka]
  metrics: true
  ready: true
bulk-sync-operator:
  valuesKey: operator
  envPrefix: BULK_SYNC_
  port: 8080
  module: bulk_sync
  image: tds-bulk-sync
  secrets: []
  metrics: false
  ready: false
zoho-proxy:
  valuesKey: zohoProxy
  envPrefix: ZOHO_PROXY_
  port: 8004
  module: zoho_proxy
  image: tds-zoho-proxy
  secrets: [database, zoho, proxyKey]
  metrics: true
  ready: true
zoho-sim:
  valuesKey: zohoSim
  envPrefix: ZOHO_SIM_
  port: 8090
  module: zoho_sim
  image: tds-zoho-sim
  secrets: []
  metrics: false
  ready: true
{{- end -}}

{{/* One component's row of the table, as a dict. Usage: (dict "component" "ingest") */}}
{{- define "tds.component" -}}
{{- $table := include "tds.componentTable" . | fromYaml -}}
{{- toYaml (get $table .component) -}}
{{- end -}}

{{/* Whether a component is rendered at all: "true" or "". Usage: (dict "root" $ "component" "ingest") */}}
{{- define "tds.componentEnabled" -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get .root.Values $spec.valuesKey -}}
{{- if $values.enabled -}}true{{- end -}}
{{- end -}}

{{/* The Service URL of a component inside the cluster. */}}
{{- define "tds.componentUrl" -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- printf "http://%s.%s.svc:%v" (include "tds.componentFullname" .) .root.Release.Namespace $spec.port -}}
{{- end -}}

{{/*
The image reference of a component: registry/repository:tag, or @digest when one is pinned.
Usage: (dict "root" $ "image" .Values.ingest.image "default" "tds-ingest")
*/}}
{{- define "tds.image" -}}
{{- $registry := .root.Values.global.imageRegistry -}}
{{- $repository := default .default .image.repository -}}
{{- $tag := default .root.Chart.AppVersion (default .root.Values.global.imageTag .image.tag) -}}
{{- if eq (toString $tag) "latest" -}}
{{- fail "image tag \"latest\" is not allowed: pin a version (global.imageTag or <component>.image.tag)" -}}
{{- end -}}
{{- $ref := ternary $repository (printf "%s/%s" $registry $repository) (empty $registry) -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" $ref $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{/* The operator's ServiceAccount name. */}}
{{- define "tds.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "tds.componentFullname" (dict "root" . "component" "bulk-sync-operator")) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The namespaces the operator watches: operator.watchNamespaces, or the release namespace. */}}
{{- define "tds.operatorNamespaces" -}}
{{- toYaml (default (list .Release.Namespace) .Values.operator.watchNamespaces) -}}
{{- end -}}

{{/* Cluster-scoped names carry the namespace, so two releases of the same name do not collide. */}}
{{- define "tds.operatorClusterRoleName" -}}
{{- printf "%s-%s" (include "tds.componentFullname" (dict "root" . "component" "bulk-sync-operator")) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ServiceAccount of the other components (no Kubernetes API access, token not mounted). */}}
{{- define "tds.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tds.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The processor's Kafka consumer group (KEDA and the lag alert need the same name). */}}
{{- define "tds.processorConsumerGroup" -}}
{{- .Values.processor.consumerGroup -}}
{{- end -}}
