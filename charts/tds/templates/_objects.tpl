{{/*
Service, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy of one component.
Usage: include "tds.<object>" (dict "root" $ "component" "ingest")
*/}}

{{- define "tds.service" -}}
{{- $root := .root -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "tds.componentFullname" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tds.componentLabels" . | nindent 4 }}
  {{- with $values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $values.service.type }}
  selector:
    {{- include "tds.componentSelectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ $spec.port }}
      targetPort: http
      protocol: TCP
    {{- if $spec.metrics }}
    - name: metrics
      port: {{ $root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- end -}}

{{- define "tds.pdb" -}}
{{- $root := .root -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
{{- if $values.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "tds.componentFullname" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tds.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $values.pdb.maxUnavailable }}
  # Evict pods that never became ready even when the budget is spent, so a broken rollout
  # cannot block node drains.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "tds.componentSelectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
CPU-based HPA. The processor is capped at the partition count of tds.zoho.events: a consumer
group cannot use more consumers than partitions, extra pods would sit idle. When the processor
scales with KEDA instead, KEDA owns its HPA and this one is not rendered.
*/}}
{{- define "tds.hpa" -}}
{{- $root := .root -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
{{- $keda := and (eq .component "processor") $root.Values.processor.keda.enabled -}}
{{- if and $values.autoscaling.enabled (not $keda) -}}
{{- if and (eq .component "processor") (gt (int $values.autoscaling.maxReplicas) (int $root.Values.global.kafka.eventsPartitions)) -}}
{{- fail (printf "processor.autoscaling.maxReplicas (%v) exceeds global.kafka.eventsPartitions (%v): extra consumers would sit idle" $values.autoscaling.maxReplicas $root.Values.global.kafka.eventsPartitions) -}}
{{- end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "tds.componentFullname" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tds.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "tds.componentFullname" . }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      # Consumer-group rebalances are not free: shrink slowly.
      stabilizationWindowSeconds: {{ $values.autoscaling.scaleDownStabilizationSeconds }}
{{- end -}}
{{- end -}}

{{/*
NetworkPolicy of one component. Ingress: only the peers that have a reason to call it (kubelet
probes are not subject to NetworkPolicy). Egress is denied but for what the component needs:
DNS, the release's services it calls, and of networkPolicy.egress's destinations only its own
(Kafka: ingest, processor, bulk-sync; PostgreSQL: processor, bulk-sync, zoho-proxy; Zoho's
CIDRs: zoho-proxy; the Kubernetes API server: the operator).
*/}}
{{- define "tds.networkPolicy" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
{{- $clients := dict "zoho-proxy" (list "processor" "bulk-sync" "bulk-sync-operator") "bulk-sync" (list "bulk-sync-operator") -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "tds.componentFullname" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tds.componentLabels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "tds.componentSelectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  {{- if eq $component "bulk-sync-operator" }}
  # The operator serves nothing but its liveness endpoint (kubelet probes are always allowed).
  ingress: []
  {{- else }}
  ingress:
    - ports:
        - port: http
          protocol: TCP
      from:
        # The chart's own `helm test` pod.
        - podSelector:
            matchLabels:
              {{- include "tds.componentSelectorLabels" (dict "root" $root "component" "test") | nindent 14 }}
        {{- range (get $clients $component | default list) }}
        - podSelector:
            matchLabels:
              {{- include "tds.componentSelectorLabels" (dict "root" $root "component" .) | nindent 14 }}
        {{- end }}
        {{- with $values.networkPolicy.from }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- if $spec.metrics }}
    {{- with $root.Values.networkPolicy.metricsFrom }}
    # Prometheus: the metrics port only, never the API.
    - ports:
        - port: metrics
          protocol: TCP
      from:
        {{- toYaml . | nindent 8 }}
    {{- end }}
    {{- end }}
  {{- end }}
  {{- $egress := $root.Values.networkPolicy.egress }}
  {{- $callees := dict "processor" (list "zoho-proxy") "bulk-sync" (list "zoho-proxy") "bulk-sync-operator" (list "bulk-sync") "zoho-proxy" (ternary (list "zoho-sim") (list) $root.Values.zohoSim.enabled) }}
  {{- $needs := dict "ingest" (list "kafka") "processor" (list "kafka" "database") "bulk-sync" (list "kafka" "database") "bulk-sync-operator" (list "kubeApi") "zoho-proxy" (list "database" "zoho") }}
  {{- $need := get $needs $component | default list }}
  egress:
    - to:
        {{- toYaml $egress.dns | nindent 8 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- range (get $callees $component | default list) }}
    {{- $callee := dict "root" $root "component" . }}
    {{- if include "tds.componentEnabled" $callee }}
    - to:
        - podSelector:
            matchLabels:
              {{- include "tds.componentSelectorLabels" $callee | nindent 14 }}
      ports:
        - port: {{ (include "tds.component" $callee | fromYaml).port }}
          protocol: TCP
    {{- end }}
    {{- end }}
    {{- range $destination := list "kafka" "database" }}
    {{- $rule := get $egress $destination }}
    {{- if and (has $destination $need) $rule.to }}
    - to:
        {{- toYaml $rule.to | nindent 8 }}
      ports:
        {{- range $rule.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- end }}
    {{- end }}
    {{- if and (has "zoho" $need) $egress.zohoCidrs (not $root.Values.zohoSim.enabled) }}
    # Zoho's accounts and API servers (HTTPS), by address: NetworkPolicy cannot name hosts.
    - to:
        {{- range $egress.zohoCidrs }}
        - ipBlock:
            cidr: {{ . }}
        {{- end }}
      ports:
        - port: 443
          protocol: TCP
    {{- end }}
    {{- if and (has "kubeApi" $need) $egress.kubeApiServerTo }}
    # The operator watches ZohoSyncs through the Kubernetes API.
    - to:
        {{- toYaml $egress.kubeApiServerTo | nindent 8 }}
      ports:
        - port: 443
          protocol: TCP
        - port: 6443
          protocol: TCP
    {{- end }}
    {{- with $egress.extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
