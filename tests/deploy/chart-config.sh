#!/usr/bin/env bash
# Acceptance check of the Helm chart against the silo and console it deploys: renders the chart with the default
# values and every ci/*.yaml and runs chart_config_check.py on each render (the silo reads the rendered environment
# with --check-config; ports, probes, Services, Redis, checkpoints and the worker Job must agree with it).
# Uses the Helm that tests/deploy/helm-check.sh fetched into ${TOOLS_DIR:-<repo>/.tools}; needs a Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
helm="${TOOLS_DIR:-$root/.tools}/helm-v3.18.0/helm"
[[ -x "$helm" ]] || { echo "no helm at $helm: run tests/deploy/helm-check.sh first"; exit 1; }
need "chart configuration check" python3
chart=helm/parameter-server
passed=0
for values in default "$chart"/ci/*.yaml; do
  name=$(basename "$values" .yaml)
  args=()
  [[ $values != default ]] && args=(-f "$values")
  "$helm" template ps "$chart" --namespace ps-test "${args[@]}" >"$work/$name.yaml"
  echo "== $name"
  python3 tests/deploy/chart_config_check.py "$work/$name.yaml" "$silo_dll" "$embed_dll"
  passed=$((passed + 1))
done
echo "chart configuration checks: $passed value sets passed, 0 failed"
