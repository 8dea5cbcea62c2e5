{{/*
Container environment of a component: the service's own settings (prefixed), the shared settings
(from the release ConfigMap), and Secret references (never values) for credentials.
Usage: include "tds.env" (dict "root" $ "component" "ingest")
*/}}
{{- define "tds.env" -}}
{{- $root := .root -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
{{- $g := $root.Values.global -}}
- name: {{ $spec.envPrefix }}HOST
  value: "0.0.0.0"
- name: {{ $spec.envPrefix }}PORT
  value: {{ $spec.port | quote }}
{{- if ne .component "zoho-sim" }}
- name: {{ $spec.envPrefix }}SHUTDOWN_TIMEOUT_SECONDS
  value: {{ $values.shutdownTimeoutSeconds | quote }}
{{- end }}
{{- if $spec.metrics }}
- name: {{ $spec.envPrefix }}METRICS_PORT
  value: {{ $root.Values.metrics.port | quote }}
{{- end }}
{{- /* Bearer tokens between services: each component's Secret, key = setting name. */}}
{{- $auth := $g.serviceAuth }}
{{- $authSecrets := dict "zoho-proxy" $auth.zohoProxySecret "processor" $auth.processorSecret "bulk-sync" $auth.bulkSyncSecret "bulk-sync-operator" $auth.operatorSecret }}
{{- $authKeys := dict "zoho-proxy" (list "ZOHO_PROXY_CLIENT_TOKENS" "ZOHO_PROXY_WRITER_TOKENS") "processor" (list "PROCESSOR_PROXY__TOKEN" "PROCESSOR_API_TOKENS") "bulk-sync" (list "BULK_SYNC_PROXY__TOKEN" "BULK_SYNC_API_TOKENS") "bulk-sync-operator" (list "BULK_SYNC_API_TOKEN") }}
{{- $component := .component }}
{{- range (get $authKeys $component | default list) }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "global.serviceAuth's Secret for %s is required (docs/deploy.md)" $component) (get $authSecrets $component) }}
      key: {{ . }}
{{- end }}
{{- if has "database" $spec.secrets }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "global.database.existingSecret is required (a Secret with the DATABASE_URL key)" $g.database.existingSecret }}
      key: {{ $g.database.urlKey }}
{{- end }}
{{- if has "kafka" $spec.secrets }}
{{ include "tds.kafkaEnv" $root }}
{{- end }}
{{- if has "webhooks" $spec.secrets }}
- name: WEBHOOK_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ required "global.webhooks.existingSecret is required (a Secret with the WEBHOOK_SECRETS key)" $g.webhooks.existingSecret }}
      key: WEBHOOK_SECRETS
{{- with $g.webhooks.hmacSecretKey }}
- name: INGEST_WEBHOOK_HMAC_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ $g.webhooks.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}
{{- if has "zoho" $spec.secrets }}
{{- /* With the simulator on (development), the proxy talks to it instead of Zoho. */}}
{{- $sim := include "tds.componentUrl" (dict "root" $root "component" "zoho-sim") }}
- name: ZOHO_ACCOUNTS_URL
  value: {{ ternary $sim $g.zoho.accountsUrl $root.Values.zohoSim.enabled | quote }}
- name: ZOHO_API_BASE_URL
  value: {{ ternary $sim $g.zoho.apiBaseUrl $root.Values.zohoSim.enabled | quote }}
{{- range list "ZOHO_CLIENT_ID" "ZOHO_CLIENT_SECRET" "ZOHO_REFRESH_TOKEN" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ required "global.zoho.existingSecret is required (a Secret with ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN)" $g.zoho.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}
{{- if has "proxyKey" $spec.secrets }}
- name: ZOHO_PROXY_TOKEN_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "zohoProxy.tokenEncryption.existingSecret is required" $values.tokenEncryption.existingSecret }}
      key: {{ $values.tokenEncryption.key }}
{{- /* Previous keys, still accepted for reading stored tokens: rotating the key is adding
       this key to the same Secret (see the zoho-proxy README), no values change. */}}
- name: ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $values.tokenEncryption.existingSecret }}
      key: ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS
      optional: true
{{- end }}
{{- if and $g.tracing.otlpEndpoint (ne .component "zoho-sim") }}
{{- /* OpenTelemetry's standard variables; the services export spans only when these are set. */}}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $g.tracing.otlpEndpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "tds-%s" .component | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $g.tracing.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $g.tracing.samplerArg | toString | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," (compact (list (printf "k8s.namespace.name=%s" $root.Release.Namespace) $g.tracing.resourceAttributes)) | quote }}
{{- end }}
{{- if eq .component "bulk-sync-operator" }}
- name: BULK_SYNC_API_URL
  value: {{ include "tds.componentUrl" (dict "root" $root "component" "bulk-sync") | quote }}
{{- end }}
{{- if eq .component "processor" }}
- name: PROCESSOR_CONSUMER__GROUP_ID
  value: {{ $values.consumerGroup | quote }}
{{- end }}
{{- range $name, $value := $values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Whether a component gets the shared ConfigMap (everything but the simulator). */}}
{{- define "tds.sharedConfig" -}}
{{- if ne .component "zoho-sim" -}}true{{- end -}}
{{- end -}}

{{/*
Kafka security of a Kafka client (ingest, processor, bulk-sync): KAFKA__* settings, the SASL
password by Secret reference, and the paths where "tds.kafkaVolumes" mounts the certificates.
*/}}
{{- define "tds.kafkaEnv" -}}
{{- $security := .Values.global.kafka.security -}}
- name: KAFKA__SECURITY_PROTOCOL
  value: {{ $security.protocol | quote }}
{{- if hasPrefix "SASL_" $security.protocol }}
- name: KAFKA__SASL_MECHANISM
  value: {{ $security.sasl.mechanism | quote }}
- name: KAFKA__SASL_USERNAME
  value: {{ required "global.kafka.security.sasl.username is required with SASL" $security.sasl.username | quote }}
- name: KAFKA__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "global.kafka.security.sasl.existingSecret is required with SASL (a Secret with the password)" $security.sasl.existingSecret }}
      key: {{ $security.sasl.passwordKey }}
{{- end }}
{{- if hasSuffix "SSL" $security.protocol }}
{{- with $security.tls.caSecret }}
- name: KAFKA__SSL_CA_FILE
  value: {{ printf "/etc/tds/kafka/ca/%s" $security.tls.caKey | quote }}
{{- end }}
{{- with $security.tls.clientSecret }}
- name: KAFKA__SSL_CERT_FILE
  value: {{ printf "/etc/tds/kafka/client/%s" $security.tls.certKey | quote }}
- name: KAFKA__SSL_KEY_FILE
  value: {{ printf "/etc/tds/kafka/client/%s" $security.tls.keyKey | quote }}
{{- end }}
{{- else if or $security.tls.caSecret $security.tls.clientSecret }}
{{- fail (printf "global.kafka.security.tls is set but the protocol %s uses no TLS (SSL or SASL_SSL)" $security.protocol) }}
{{- end }}
{{- end -}}

{{/* The volumes ("volumes: true") or mounts of the Kafka certificates. Usage: (dict "root" $ "volumes" true) */}}
{{- define "tds.kafkaVolumes" -}}
{{- $tls := .root.Values.global.kafka.security.tls -}}
{{- if hasSuffix "SSL" .root.Values.global.kafka.security.protocol }}
{{- range $name, $secret := dict "ca" $tls.caSecret "client" $tls.clientSecret }}
{{- if $secret }}
{{- if $.volumes }}
- name: kafka-{{ $name }}
  secret:
    secretName: {{ $secret }}
    defaultMode: 0440
{{- else }}
- name: kafka-{{ $name }}
  mountPath: /etc/tds/kafka/{{ $name }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
