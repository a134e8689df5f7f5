#!/usr/bin/env bash
# Throughput table of `embed bench train` with several silo processes (Redis clustering) and worker loops:
#   bash tests/bench/scaling.sh [SILOS...]      e.g.  bash tests/bench/scaling.sh 1 3   (default 1 3)
# Settings through the environment: WORKERS ("1 2 4"), RATINGS (2000000), USERS (100000), ITEMS (50000), DIM (64),
# EPOCHS (1). Each row starts a fresh Redis and fresh silos on 127.0.0.1, runs the benchmark once per worker count
# (each run times its own in-memory reference) and stops everything by PID. Not part of CI: it measures the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "scaling benchmark" redis-server jq curl
silo_counts=("${@:-1 3}")
read -r -a silo_counts <<<"${silo_counts[*]}"
read -r -a workers <<<"${WORKERS:-1 2 4}"
ratings="${RATINGS:-2000000}" users="${USERS:-100000}" items="${ITEMS:-50000}" dim="${DIM:-64}" epochs="${EPOCHS:-1}"
redis_port=6395
printf '%-6s %-8s %14s %14s %8s %8s %12s %10s %10s\n' silos workers samples/s ref_all_cores/s ratio calls/step rows_pulled/s p50_ms p99_ms
for silos in "${silo_counts[@]}"; do
  start_redis $redis_port >/dev/null
  cluster_pids=()
  for ((n = 1; n <= silos; n++)); do
    dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
      --Orleans:ClusterId=scaling --Orleans:SiloPort=$((11600 + n)) --Orleans:GatewayPort=$((30600 + n)) --Http:Port=$((8600 + n)) \
      --Http:Dashboard=false >"$work/silo-$silos-$n.log" 2>&1 &
    pids+=($!)
    cluster_pids+=($!)
  done
  for ((n = 1; n <= silos; n++)); do
    wait_for "silo $n of $silos ready" 90 curl -sf "http://127.0.0.1:$((8600 + n))/ready" >/dev/null || { cat "$work/silo-$silos-$n.log"; exit 1; }
  done
  for w in "${workers[@]}"; do
    Orleans__ClusterId=scaling timeout 900 dotnet "$embed_dll" bench train --cluster "redis://127.0.0.1:$redis_port" --users "$users" --items "$items" \
      --ratings "$ratings" --dim "$dim" --epochs "$epochs" --workers "$w" --shards $((8 * silos)) --json 2>"$work/bench.err" >"$work/bench.json" \
      || { cat "$work/bench.err"; exit 1; }
    jq -r --arg s "$silos" --arg w "$w" '[$s, $w, (.samples_per_second|floor), (.reference_all_cores_samples_per_second|floor), (.cost_ratio_all_cores*1000|floor/1000), (.calls_per_step*100|floor/100), (.rows_pulled_per_second|floor), (.step_p50_ms*100|floor/100), (.step_p99_ms*100|floor/100)] | @tsv' "$work/bench.json" \
      | awk -F'\t' '{ printf "%-6s %-8s %14s %14s %8s %8s %12s %10s %10s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
  done
  # Newest first: the silos, then this row's Redis.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  pids=()
done
