#!/usr/bin/env bash
# Checks deploy/compose without a Docker engine: the file parses and names only images and files that exist
# (compose_check.py); each silo's environment, as its container would see it, is read by the silo itself with
# --check-config (no unknown keys, Redis clustering, the ports the file publishes); the worker's command is a real
# command of the console (every option it passes is one `embed <command> --help` lists, and it starts with them);
# both Prometheus configurations pass promtool. Needs python3 with PyYAML, promtool, jq, and a Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "compose check" python3 promtool jq
passed=0

python3 tests/deploy/compose_check.py "$root" "$work"
passed=$((passed + 1))

# check_entrypoint FILE BUILT: the Dockerfile's ENTRYPOINT runs the (self-contained) executable of the assembly that
# BUILT is the build output of.
check_entrypoint() {
  mapfile -t entry <"$1"
  [[ "${entry[0]}" == "/app/$(basename "$2" .dll)" && -f "$2" ]] \
    || { echo "ENTRYPOINT is '${entry[*]}', expected /app/$(basename "$2" .dll) (built as $2)"; exit 1; }
  echo "ok: ENTRYPOINT ${entry[*]}"
}
check_entrypoint "$work/silo.entrypoint" "$silo_dll"
check_entrypoint "$work/worker.entrypoint" "$embed_dll"

for silo in silo-1 silo-2 silo-3; do
  # Only the container's environment: nothing from this shell's Orleans__* or Http__* leaks in.
  mapfile -t env_lines <"$work/$silo.env"
  if ! env -i PATH="$PATH" HOME="${HOME:-/tmp}" DOTNET_ROOT="${DOTNET_ROOT:-}" DOTNET_NOLOGO=1 "${env_lines[@]}" \
      dotnet "$silo_dll" --check-config >"$work/$silo.json" 2>"$work/$silo.err"; then
    echo "$silo: the silo refuses its compose environment:"; cat "$work/$silo.err"; exit 1
  fi
  jq -e '.options | .usesRedis and .listenOnAnyHostAddress and .httpAddress == "0.0.0.0" and .checkpoints.enabled' "$work/$silo.json" >/dev/null \
    || { echo "$silo: expected Redis clustering, listening on every interface, HTTP on 0.0.0.0 and checkpoints on:"; jq .options "$work/$silo.json"; exit 1; }
  echo "ok: $silo: every key of its environment is read by the silo; $(jq -r '.options | "Redis \(.clusteringConnectionString), advertises \(.advertisedAddress), silo \(.siloPort), gateway \(.gatewayPort), http \(.httpPort), checkpoints \(.checkpoints.directory)"' "$work/$silo.json")"
  passed=$((passed + 1))
done

# The worker's command: each --option must be one the console's command lists in its help, and the console must
# start with exactly these arguments (plus --help, so nothing runs).
mapfile -t args <"$work/worker.args"
command=()
for a in "${args[@]}"; do [[ $a == -* ]] && break; command+=("$a"); done
dotnet "$embed_dll" "${command[@]}" --help >"$work/help.txt"
for a in "${args[@]}"; do
  if [[ $a == --* ]] && ! grep -qE "(^|[ ,])$a([ ,]|$)" "$work/help.txt"; then
    echo "worker: option $a is not an option of 'embed ${command[*]}':"; cat "$work/help.txt"; exit 1
  fi
done
dotnet "$embed_dll" "${args[@]}" --help >/dev/null || { echo "worker: embed does not start with '${args[*]} --help'"; exit 1; }
echo "ok: worker: 'embed ${args[*]}' uses only options of 'embed ${command[*]}'"
passed=$((passed + 1))

promtool check config deploy/compose/prometheus.yml
promtool check config deploy/prometheus/prometheus.yml
passed=$((passed + 1))
echo "compose checks: $passed passed, 0 failed"
