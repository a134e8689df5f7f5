{{/* Chart name, overridable. */}}
{{- define "parameter-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name when it already contains the chart name. */}}
{{- define "parameter-server.fullname" -}}
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

{{/* A component's resource name: include "parameter-server.componentName" (list . "silo"). */}}
{{- define "parameter-server.componentName" -}}
{{- printf "%s-%s" (include "parameter-server.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "parameter-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the release's pods (the NetworkPolicies trust these). */}}
{{- define "parameter-server.releaseSelector" -}}
app.kubernetes.io/name: {{ include "parameter-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: include "parameter-server.selectorLabels" (list . "silo"). */}}
{{- define "parameter-server.selectorLabels" -}}
{{ include "parameter-server.releaseSelector" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Standard labels of one component: include "parameter-server.labels" (list . "silo"). */}}
{{- define "parameter-server.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ include "parameter-server.chart" $ }}
{{ include "parameter-server.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
{{- end -}}

{{- define "parameter-server.clusterId" -}}
{{- default (include "parameter-server.fullname" .) .Values.clusterId -}}
{{- end -}}

{{- define "parameter-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "parameter-server.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag of an app image: include "parameter-server.image" (list . .Values.silo.image). */}}
{{- define "parameter-server.image" -}}
{{- $ := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := $image.tag | default $.Values.image.tag | default $.Chart.AppVersion -}}
{{- if $.Values.image.registry -}}
{{- printf "%s/%s:%s" $.Values.image.registry $image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Empty when there are none; use as: with (include "parameter-server.imagePullSecrets" .) | nindent 6. */}}
{{- define "parameter-server.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level security: the images run as uid/gid 10001; fsGroup makes the checkpoint volume writable. */}}
{{- define "parameter-server.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  fsGroupChangePolicy: OnRootMismatch
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Every container: non-root, read-only root filesystem (writable paths are emptyDirs), no capabilities. */}}
{{- define "parameter-server.containerSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "parameter-server.redisName" -}}
{{- include "parameter-server.componentName" (list . "redis") -}}
{{- end -}}

{{- define "parameter-server.redisSecretName" -}}
{{- default (include "parameter-server.redisName" .) .Values.redis.auth.existingSecret -}}
{{- end -}}

{{/* "true" when the chart runs its own S3-compatible server for the checkpoints (store s3, no serviceUrl). */}}
{{- define "parameter-server.bundledObjectStore" -}}
{{- $c := .Values.checkpoints -}}
{{- and $c.enabled (eq $c.store "s3") (not $c.s3.serviceUrl) .Values.objectStore.enabled | toString -}}
{{- end -}}

{{- define "parameter-server.objectStoreName" -}}
{{- include "parameter-server.componentName" (list . "objectstore") -}}
{{- end -}}

{{- define "parameter-server.objectStoreSecretName" -}}
{{- default (include "parameter-server.objectStoreName" .) .Values.objectStore.existingSecret -}}
{{- end -}}

{{/* Checkpoint settings of the silos: the store chosen by checkpoints.store, credentials from Secrets only. */}}
{{- define "parameter-server.checkpointEnv" -}}
{{- $c := .Values.checkpoints -}}
{{- if and $c.enabled (eq $c.store "volume") }}
- name: Checkpoints__Directory
  value: {{ $c.directory | quote }}
{{- else }}
# The image sets Checkpoints__Directory=/checkpoints for docker run; a bucket, or no checkpoints, replaces it.
- name: Checkpoints__Directory
  value: ""
{{- end }}
{{- if $c.enabled }}
- name: Checkpoints__Interval
  value: {{ $c.interval | quote }}
- name: Checkpoints__Keep
  value: {{ $c.keep | quote }}
{{- if eq $c.store "blob" }}
- name: Checkpoints__Blob__Container
  value: {{ $c.blob.container | quote }}
- name: Checkpoints__Blob__Prefix
  value: {{ default (printf "%s/" .Release.Name) $c.blob.prefix | quote }}
- name: Checkpoints__Blob__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ $c.blob.existingSecret }}
      key: {{ $c.blob.connectionStringKey }}
{{- else if eq $c.store "s3" }}
{{- $bundled := eq (include "parameter-server.bundledObjectStore" .) "true" }}
- name: Checkpoints__S3__Bucket
  value: {{ $c.s3.bucket | quote }}
- name: Checkpoints__S3__Prefix
  value: {{ default (printf "%s/" .Release.Name) $c.s3.prefix | quote }}
- name: Checkpoints__S3__Region
  value: {{ $c.s3.region | quote }}
{{- if or $c.s3.serviceUrl $bundled }}
- name: Checkpoints__S3__ServiceUrl
  value: {{ default (printf "http://%s:%d" (include "parameter-server.objectStoreName" .) (int .Values.objectStore.port)) $c.s3.serviceUrl | quote }}
{{- end }}
{{- if or $c.s3.existingSecret $bundled }}
- name: Checkpoints__S3__AccessKey
  valueFrom:
    secretKeyRef:
      name: {{ ternary (include "parameter-server.objectStoreSecretName" .) $c.s3.existingSecret (not $c.s3.existingSecret) }}
      key: {{ ternary "accessKey" $c.s3.accessKeyKey (not $c.s3.existingSecret) }}
- name: Checkpoints__S3__SecretKey
  valueFrom:
    secretKeyRef:
      name: {{ ternary (include "parameter-server.objectStoreSecretName" .) $c.s3.existingSecret (not $c.s3.existingSecret) }}
      key: {{ ternary "secretKey" $c.s3.secretKeyKey (not $c.s3.existingSecret) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Clients outside the release that may use the cluster: labelled pods, and networkPolicy.gatewayFrom. */}}
{{- define "parameter-server.clientPeers" -}}
- podSelector:
    matchLabels:
      parameter-server.io/client: {{ include "parameter-server.fullname" . | quote }}
{{- with .Values.networkPolicy.gatewayFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* What a training run is: the console's command and options, image, input, processes, fresh or resume, run id. */}}
{{- define "parameter-server.workerSpec" -}}
{{- $w := .Values.worker -}}
{{- dict "args" $w.args "image" (include "parameter-server.image" (list . $w.image)) "data" $w.data "count" $w.count "fresh" $w.fresh "runId" $w.runId | toJson -}}
{{- end -}}

{{- define "parameter-server.workerJobName" -}}
{{- printf "%s-%s" (include "parameter-server.componentName" (list . "worker")) (include "parameter-server.workerSpec" . | sha256sum | trunc 10) -}}
{{- end -}}

{{/* A Kubernetes quantity ("2Gi", "512M", "1000000") in bytes. */}}
{{- define "parameter-server.bytes" -}}
{{- $q := toString . -}}
{{- $n := regexFind "^[0-9.]+" $q -}}
{{- $unit := trimPrefix $n $q -}}
{{- $scale := get (dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "" 1.0) $unit -}}
{{- mulf (float64 $n) (float64 $scale) | int64 -}}
{{- end -}}

{{/*
The sizing check: sizing.rows spread over the silos, each row costing 4.5 x its table bytes (dim x 4 x (1 + optimizer
slots) + 28 for id, step count and index) at the silo's peak with checkpoints being written, plus 200 MiB of runtime,
against silo.resources.limits.memory. Empty when it fits or nothing is set; else the warning. See tests/bench/sizing.sh.
*/}}
{{- define "parameter-server.sizingWarning" -}}
{{- $z := .Values.sizing -}}
{{- $limit := dig "limits" "memory" "" .Values.silo.resources -}}
{{- if and (gt (int64 $z.rows) 0) $limit -}}
{{- $slots := get (dict "sgd" 0 "adagrad" 1 "adam" 2) $z.optimizer -}}
{{- $perRow := mulf 4.5 (add (mul $z.dim 4 (add 1 $slots)) 28) -}}
{{- $rowsPerSilo := ceil (divf (float64 $z.rows) (float64 .Values.silo.replicas)) -}}
{{- $need := addf (mulf $rowsPerSilo $perRow) 209715200.0 -}}
{{- $have := float64 (include "parameter-server.bytes" $limit) -}}
{{- if gt $need $have -}}
WARNING: {{ $z.rows }} rows (dim {{ $z.dim }}, {{ $z.optimizer }}) over {{ .Values.silo.replicas }} silo(s) need about {{ printf "%.1f" (divf $need 1073741824.0) }} GiB per silo ({{ printf "%.0f" $perRow }} bytes per row at the peak of a checkpoint, and 200 MiB of runtime), more than silo.resources.limits.memory {{ $limit }}: raise it or silo.replicas (a silo over its limit is OOM-killed and its shards restart from checkpoints).
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "parameter-server.grpcSecretName" -}}
{{- default (include "parameter-server.componentName" (list . "grpc")) .Values.grpc.auth.existingSecret -}}
{{- end -}}

{{- define "parameter-server.dashboardSecretName" -}}
{{- default (include "parameter-server.componentName" (list . "dashboard")) .Values.dashboard.auth.existingSecret -}}
{{- end -}}

{{/* Downward API and cluster settings shared by the silos and the worker (same cluster id, same Redis). */}}
{{- define "parameter-server.clusterEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: Orleans__ClusterId
  value: {{ include "parameter-server.clusterId" . | quote }}
- name: Orleans__Clustering__ProviderType
  value: Redis
{{- if .Values.redis.enabled }}
# The bundled Redis' password, from its Secret; the connection string below expands it (never a literal here).
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "parameter-server.redisSecretName" . }}
      key: {{ .Values.redis.auth.existingSecretKey }}
- name: Orleans__Clustering__ConnectionString
  value: {{ printf "%s:%d,password=$(REDIS_PASSWORD)" (include "parameter-server.redisName" .) (int .Values.redis.port) | quote }}
{{- else }}
- name: Orleans__Clustering__ConnectionString
  valueFrom:
    secretKeyRef:
      {{- if .Values.externalRedis.existingSecret }}
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
      {{- else }}
      name: {{ include "parameter-server.componentName" (list . "external-redis") }}
      key: connectionString
      {{- end }}
{{- end }}
{{- end -}}

{{/* Settings the schema cannot express; fails the render with the value to fix. */}}
{{- define "parameter-server.validate" -}}
{{- if le (int .Values.silo.terminationGracePeriodSeconds) 95 -}}
{{- fail "silo.terminationGracePeriodSeconds must exceed the silo's stop budget of 90 s plus 5 s (use 96 or more)" -}}
{{- end -}}
{{- $ext := .Values.externalRedis -}}
{{- if .Values.redis.enabled -}}
{{- if or $ext.connectionString $ext.existingSecret -}}
{{- fail "externalRedis is set but redis.enabled is true: set redis.enabled=false to use the external Redis" -}}
{{- end -}}
{{- else if not (or $ext.connectionString $ext.existingSecret) -}}
{{- fail "redis.enabled=false needs externalRedis.existingSecret or externalRedis.connectionString" -}}
{{- else if and $ext.connectionString $ext.existingSecret -}}
{{- fail "give externalRedis.existingSecret or externalRedis.connectionString, not both" -}}
{{- end -}}
{{- $auth := .Values.dashboard.auth -}}
{{- if ne (empty $auth.username) (empty $auth.password) -}}
{{- fail "dashboard.auth.username and dashboard.auth.password go together: give both or neither" -}}
{{- end -}}
{{- if and .Values.dashboard.enabled (not (or $auth.existingSecret $auth.username)) -}}
{{- fail "dashboard.enabled=true needs dashboard.auth.existingSecret or dashboard.auth.username/password: the dashboard shows the whole cluster to whoever reaches the port" -}}
{{- end -}}
{{- if and $auth.existingSecret $auth.username -}}
{{- fail "give dashboard.auth.existingSecret or dashboard.auth.username/password, not both" -}}
{{- end -}}
{{- $c := .Values.checkpoints -}}
{{- if and $c.enabled (eq $c.store "blob") (not $c.blob.existingSecret) -}}
{{- fail "checkpoints.store=blob needs checkpoints.blob.existingSecret (a Secret with the storage account's connection string)" -}}
{{- end -}}
{{- if and $c.enabled (ne $c.store "volume") $c.persistence.existingClaim -}}
{{- fail (printf "checkpoints.persistence.existingClaim is set but checkpoints.store is %s: set checkpoints.store=volume to use the claim" $c.store) -}}
{{- end -}}
{{- if and .Values.worker.fresh (gt (int .Values.worker.count) 1) -}}
{{- fail "worker.fresh with worker.count > 1: every worker process would drop the tables the others train; drop them once first (embed tables drop --prefix ...), then run the workers with fresh=false" -}}
{{- end -}}
{{- if and .Values.worker.enabled (not .Values.worker.data.existingClaim) -}}
{{- fail "worker.enabled=true needs worker.data.existingClaim (the claim with the input files, mounted at /data)" -}}
{{- end -}}
{{- end -}}
