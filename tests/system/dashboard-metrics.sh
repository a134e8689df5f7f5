#!/usr/bin/env bash
# Checks that every metric referenced by the Grafana dashboards under deploy/grafana/dashboards is exported.
#
# Usage: dashboard-metrics.sh NAMES_FILE
#   NAMES_FILE lists exported metric names, one per line (build it from real scrapes of the silo's and the
#   worker's /metrics, or from Prometheus' /api/v1/label/__name__/values). Histograms appear there as
#   NAME_bucket, NAME_sum and NAME_count.
#
# For every dashboard it takes every "expr" (recursively, with jq) and the templating queries
# (label_values(METRIC{...}, label)), strips string literals, label matchers {...}, range selectors [...],
# by/without/on/ignoring/group_left/group_right (...) clauses and label_values' label argument, and keeps the
# identifiers that start with ps_, orleans_ or dotnet_. Prints "dashboard: N metric names" per dashboard,
# "MISSING name (file)" for each name not in NAMES_FILE, and a total line.
# Exit 1 if a name is missing or a dashboard references no metric; exit 2 on usage errors.
# Needs bash, jq, grep, sed, sort (and coreutils' mktemp, wc, tr). No network.
set -euo pipefail
export LC_ALL=C

if [[ $# -ne 1 ]]; then
  echo "usage: $0 NAMES_FILE" >&2
  exit 2
fi
names_file="$1"
if [[ ! -r "$names_file" ]]; then
  echo "error: cannot read names file '$names_file'" >&2
  exit 2
fi
command -v jq >/dev/null || { echo "error: jq is required" >&2; exit 2; }

root="$(cd "$(dirname "$0")/../.." && pwd)"
dash_dir="${DASHBOARD_DIR:-$root/deploy/grafana/dashboards}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Exported names: trim whitespace and CR, drop blank lines and comments.
sed -e 's/\r$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$names_file" | grep -v -e '^$' -e '^#' | sort -u >"$work/exported" || true

# Reads PromQL expressions on stdin, one per line; writes the metric names they reference, one per line.
extract_names() {
  sed -E \
    -e 's/"([^"\\]|\\.)*"//g' \
    -e "s/'([^'\\\\]|\\\\.)*'//g" \
    -e 's/`[^`]*`//g' \
    -e 's/\{[^}]*\}//g' \
    -e 's/\[[^]]*\]//g' \
    -e 's/(^|[^a-zA-Z0-9_:])(by|without|on|ignoring|group_left|group_right)[[:space:]]*\([^)]*\)/\1/g' \
    -e 's/(label_values[[:space:]]*\([^,)]*),[^)]*\)/\1)/g' |
    grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*' |
    grep -E '^(ps|orleans|dotnet)_[a-zA-Z0-9_:]+$' || true
}

shopt -s nullglob
# DASHBOARDS: a glob of the files to check (default every one); SKIP_DASHBOARDS: space-separated file names left out
# (the gRPC API's dashboard is checked by python-client.sh, whose silo serves the API).
dashboards=()
for dash in "$dash_dir"/${DASHBOARDS:-*.json}; do
  [[ " ${SKIP_DASHBOARDS:-} " == *" $(basename "$dash") "* ]] || dashboards+=("$dash")
done
if [[ ${#dashboards[@]} -eq 0 ]]; then
  echo "error: no dashboards in $dash_dir" >&2
  exit 1
fi

status=0
: >"$work/all"
: >"$work/missing"
for dash in "${dashboards[@]}"; do
  file="$(basename "$dash")"
  if ! jq empty "$dash" 2>/dev/null; then
    echo "INVALID JSON $file"
    status=1
    continue
  fi
  {
    jq -r '.. | objects | select(has("expr")) | .expr | strings | gsub("\n"; " ")' "$dash"
    jq -r '.templating.list[]? | select(.type == "query") | (.definition // empty), (.query | if type == "object" then .query else . end // empty) | strings | gsub("\n"; " ")' "$dash"
  } | extract_names | sort -u >"$work/names"
  n="$(wc -l <"$work/names" | tr -d ' ')"
  echo "$file: $n metric names"
  if [[ "$n" -eq 0 ]]; then
    echo "NO METRICS $file"
    status=1
  fi
  cat "$work/names" >>"$work/all"
  while IFS= read -r name; do
    echo "MISSING $name ($file)"
    echo "$name" >>"$work/missing"
  done < <(grep -Fxv -f "$work/exported" "$work/names" || true)
done

distinct="$(sort -u "$work/all" | wc -l | tr -d ' ')"
missing="$(sort -u "$work/missing" | wc -l | tr -d ' ')"
echo "dashboard metrics: $distinct distinct names, $missing missing"
if [[ "$missing" -ne 0 ]]; then status=1; fi
exit "$status"
