{{/*
The Deployment of one component. Every component has the same shape (hardened pod, probes,
graceful stop, rolling update without losing capacity); the differences live in the component
table (_helpers.tpl) and in the component's values block.

Graceful stop: Kubernetes runs preStop (a short sleep, so the endpoint is removed from every
Service before the process stops accepting connections), then sends SIGTERM; the service then has
shutdownTimeoutSeconds to finish in-flight work (uvicorn drains requests, workers commit offsets).
terminationGracePeriodSeconds must cover both, or the kubelet's SIGKILL cuts the drain short:
the template refuses values where it does not.

Usage: include "tds.deployment" (dict "root" $ "component" "ingest")
*/}}
{{- define "tds.deployment" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $spec := include "tds.component" . | fromYaml -}}
{{- $values := get $root.Values $spec.valuesKey -}}
{{- $budget := add $values.preStopSleepSeconds (ceil $values.shutdownTimeoutSeconds) -}}
{{- if le (int $values.terminationGracePeriodSeconds) (int $budget) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + shutdownTimeoutSeconds (%v)" $spec.valuesKey $values.terminationGracePeriodSeconds $budget) -}}
{{- end -}}
{{- $isOperator := eq $component "bulk-sync-operator" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "tds.componentFullname" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tds.componentLabels" . | nindent 4 }}
spec:
  {{- if not (and (hasKey $values "autoscaling") $values.autoscaling.enabled) }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ $root.Values.global.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "tds.componentSelectorLabels" . | nindent 6 }}
  {{- if $isOperator }}
  # One operator at a time: two kopf processes without peering would both act on every ZohoSync.
  strategy:
    type: Recreate
  {{- else }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Never drop below the desired capacity during a rollout; surge one pod instead.
      maxUnavailable: 0
      maxSurge: {{ $values.maxSurge }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "tds.componentLabels" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Roll the pods when the shared settings change (env from a ConfigMap is read at start).
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- if $isOperator }}
      serviceAccountName: {{ include "tds.operatorServiceAccountName" $root }}
      automountServiceAccountToken: true
      {{- else }}
      serviceAccountName: {{ include "tds.serviceAccountName" $root }}
      # No TDS service but the operator talks to the Kubernetes API.
      automountServiceAccountToken: false
      {{- end }}
      {{- with $root.Values.global.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
      # Service links would inject <SERVICE>_PORT variables that can collide with settings
      # (a release named "zoho" would set ZOHO_PROXY_PORT=tcp://...).
      enableServiceLinks: false
      containers:
        - name: {{ $component }}
          image: {{ include "tds.image" (dict "root" $root "image" $values.image "default" $spec.image) }}
          imagePullPolicy: {{ default $root.Values.global.imagePullPolicy $values.image.pullPolicy }}
          {{- with $values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- $args := $values.args }}
          {{- if $isOperator }}
          {{- /* kopf watches exactly the namespaces its Roles cover (operator-rbac.yaml). */}}
          {{- range (include "tds.operatorNamespaces" $root | fromYamlArray) }}
          {{- $args = append $args (printf "--namespace=%s" .) }}
          {{- end }}
          {{- end }}
          {{- with $args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $spec.port }}
              protocol: TCP
            {{- if $spec.metrics }}
            # /metrics alone, so the monitoring namespace is let in to this port and not the API.
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
              protocol: TCP
            {{- end }}
          {{- if include "tds.sharedConfig" . }}
          envFrom:
            - configMapRef:
                name: {{ include "tds.fullname" $root }}
          {{- end }}
          env:
            {{- include "tds.env" . | nindent 12 }}
          {{- $healthPath := ternary $values.healthPath "/health" $isOperator }}
          {{- $readyPath := ternary $values.healthPath "/ready" $isOperator }}
          livenessProbe:
            httpGet:
              path: {{ $healthPath }}
              port: http
            {{- toYaml $values.livenessProbe | nindent 12 }}
          readinessProbe:
            httpGet:
              path: {{ $readyPath }}
              port: http
            {{- toYaml $values.readinessProbe | nindent 12 }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "{{ $values.preStopSleepSeconds }}"]
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            # The root filesystem is read-only; Python and the libraries may still want a scratch dir.
            - name: tmp
              mountPath: /tmp
            {{- if has "kafka" $spec.secrets }}
            {{- include "tds.kafkaVolumes" (dict "root" $root "volumes" false) | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $root.Values.global.tmpSizeLimit }}
        {{- if has "kafka" $spec.secrets }}
        {{- include "tds.kafkaVolumes" (dict "root" $root "volumes" true) | nindent 8 }}
        {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $values.topologySpread }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "tds.componentSelectorLabels" . | nindent 14 }}
      {{- end }}
{{- end -}}
