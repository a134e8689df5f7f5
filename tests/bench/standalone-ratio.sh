#!/usr/bin/env bash
# Throughput of `embed bench train` over a standalone silo process on loopback, as a ratio to the embedded silo:
#   bash tests/bench/standalone-ratio.sh [PAIRS]      (default 3)
# Each pair runs the standalone case (a fresh silo on 127.0.0.1) and then the embedded case back to back, so both see
# the same machine state; the ratio of each pair and their mean are printed. Settings through the environment:
# RATINGS (10000000), USERS (100000), ITEMS (50000), DIM (64), WORKERS (2), EXTRA (more bench arguments), and any
# Orleans__* variable for both processes (for example Orleans__Messaging__TransportBlockSize=4096 for Orleans' own
# transport blocks). Not part of CI: it measures the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "standalone ratio benchmark" jq curl
pairs="${1:-3}"
ratings="${RATINGS:-10000000}" users="${USERS:-100000}" items="${ITEMS:-50000}" dim="${DIM:-64}" workers="${WORKERS:-2}"
read -r -a extra <<<"${EXTRA:-}"
bench=(bench train --users "$users" --items "$items" --ratings "$ratings" --dim "$dim" --workers "$workers" --json "${extra[@]}")
printf '%-5s %14s %14s %8s %16s %16s\n' pair standalone/s embedded/s ratio standalone_rmse embedded_rmse
sum=0
for ((p = 1; p <= pairs; p++)); do
  dotnet "$silo_dll" --Orleans:SiloPort=11650 --Orleans:GatewayPort=30650 --Http:Port=8650 --Http:Dashboard=false >"$work/silo-$p.log" 2>&1 &
  pids+=($!)
  wait_for "standalone silo ready" 90 curl -sf "http://127.0.0.1:8650/ready" >/dev/null || { cat "$work/silo-$p.log"; exit 1; }
  timeout 900 dotnet "$embed_dll" "${bench[@]}" --cluster 127.0.0.1:30650 >"$work/standalone.json" 2>"$work/bench.err" || { cat "$work/bench.err"; exit 1; }
  kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
  timeout 900 dotnet "$embed_dll" "${bench[@]}" >"$work/embedded.json" 2>"$work/bench.err" || { cat "$work/bench.err"; exit 1; }
  s=$(jq .samples_per_second "$work/standalone.json") e=$(jq .samples_per_second "$work/embedded.json")
  ratio=$(jq -n "$s / $e")
  sum=$(jq -n "$sum + $ratio")
  printf '%-5s %14.0f %14.0f %8.3f %16.4f %16.4f\n' "$p" "$s" "$e" "$ratio" "$(jq .validation_rmse "$work/standalone.json")" "$(jq .validation_rmse "$work/embedded.json")"
done
printf 'mean ratio over %d pairs: %.3f\n' "$pairs" "$(jq -n "$sum / $pairs")"
