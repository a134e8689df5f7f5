#!/usr/bin/env bash
# How `embed bench train` scales with silo processes on this machine (Redis clustering, same total shards):
#   bash tests/bench/scaling.sh [SILOS...]      e.g.  bash tests/bench/scaling.sh 1 3   (default 1 2 3 6)
# Settings through the environment: SHARDS (24 per table, whatever the silo count), WORKERS ("2"), RATINGS (6000000:
# long enough that each silo's start-up JIT and first touch of its rows weigh little on the CPU per sample),
# USERS (100000), ITEMS (50000), DIM (64), EPOCHS (1), ROUNDS (1: with more, the silo counts run in turn that many
# times, so a noisy machine's drift hits every count alike), TASKSET ("": with e.g. TASKSET=1, silo n is pinned to
# core n mod cores and the worker to core 0 with `taskset`).
# Each run starts a fresh Redis and fresh silos on 127.0.0.1 and stops everything by PID. Per run it prints
# samples/s; CPU seconds per million samples of the worker, of all silos together and of the busiest silo; their sum;
# the worker's step calls per step; messages per sample (two per step call of the worker, a request and its answer,
# plus two per grain request the silos' dispatchers counted: silo-to-silo shard calls, table set-up and validation;
# the step calls go to system targets, which that count leaves out); and bytes per sample on the loopback
# interface (every message of every process, headers included); with EPOCHS=2 or more, steady_sum: the CPU seconds per
# million samples of all processes over the epochs after the first, without what each process pays once (a fresh
# silo compiles its step path on the first call, about a CPU second, so a short job on many silos pays it many
# times). Not part of CI: it measures the machine. A build
# whose bench JSON lacks `samples` is counted as 99.5 % of the ratings (its training split) times epochs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "scaling benchmark" redis-server jq curl
read -r -a silo_counts <<<"${*:-1 2 3 6}"
read -r -a workers <<<"${WORKERS:-2}"
shards="${SHARDS:-24}" ratings="${RATINGS:-6000000}" users="${USERS:-100000}" items="${ITEMS:-50000}" dim="${DIM:-64}" epochs="${EPOCHS:-1}"
rounds="${ROUNDS:-1}" cores=$(nproc)
redis_port=6395

pin() { # pin CORE: a taskset prefix when TASKSET is set
  if [[ -n "${TASKSET:-}" ]]; then echo "taskset -c $(($1 % cores))"; fi
}

# Requests the silos' dispatchers received, summed over silos 1..$1.
requests() {
  local total=0 n v
  for ((n = 1; n <= $1; n++)); do
    v=$(curl -sf "http://127.0.0.1:$((8600 + n))/metrics" | awk '/^orleans_messaging_processing_dispatcher_received_total/ && /Direction="Request"/ { s += $NF } END { printf "%d", s }')
    total=$((total + v))
  done
  echo "$total"
}

printf '%-6s %-8s %12s %10s %10s %10s %10s %10s %10s %10s %12s\n' silos workers samples/s worker_cpu silos_cpu max_silo sum_cpu calls/step msgs/smp bytes/smp steady_sum
for ((round = 1; round <= rounds; round++)); do
  for silos in "${silo_counts[@]}"; do
    (( shards % silos == 0 )) || echo "note: $shards shards over $silos silos cannot be even"
    start_redis $redis_port >/dev/null
    for ((n = 1; n <= silos; n++)); do
      # shellcheck disable=SC2046
      $(pin "$n") dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
        --Orleans:ClusterId=scaling --Orleans:SiloPort=$((11600 + n)) --Orleans:GatewayPort=$((30600 + n)) --Http:Port=$((8600 + n)) \
        --Http:Dashboard=false >"$work/silo-$silos-$n.log" 2>&1 &
      pids+=($!)
    done
    for ((n = 1; n <= silos; n++)); do
      wait_for "silo $n of $silos ready" 90 curl -sf "http://127.0.0.1:$((8600 + n))/ready" >/dev/null || { cat "$work/silo-$silos-$n.log"; exit 1; }
    done
    for w in "${workers[@]}"; do
      before=$(requests "$silos")
      # shellcheck disable=SC2046
      Orleans__ClusterId=scaling timeout 900 $(pin 0) dotnet "$embed_dll" bench train --cluster "redis://127.0.0.1:$redis_port" --users "$users" --items "$items" \
        --ratings "$ratings" --dim "$dim" --epochs "$epochs" --workers "$w" --shards "$shards" --json 2>"$work/bench.err" >"$work/bench.json" \
        || { cat "$work/bench.err"; exit 1; }
      after=$(requests "$silos")
      jq -r --arg s "$silos" --arg w "$w" --argjson req $((after - before)) '
        ([.processes[] | select(.role == "silo") | .cpu_seconds_per_million_samples]) as $silo
        | ([.processes[] | select(.role == "worker") | .cpu_seconds_per_million_samples] | add) as $worker
        | ([.processes[] | .steady_cpu_seconds_per_million_samples]) as $steady
        | [$s, $w, (.samples_per_second | floor), $worker, ($silo | add), ($silo | max), ($worker + ($silo | add)),
           .calls_per_step, (2 * .calls_per_step / .batch_size + 2 * $req / (.samples // (.ratings * 0.995 * .epochs))), (.loopback_bytes_per_sample // 0),
           (if ($steady | length) > 0 and all($steady[]; . != null) then ($steady | add | tostring) else "-" end)]
        | @tsv' "$work/bench.json" \
        | awk -F'\t' '{ printf "%-6s %-8s %12s %10.3f %10.3f %10.3f %10.3f %10.2f %10.4f %10.0f %12s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ($11 == "-" ? "-" : sprintf("%.3f", $11)) }'
    done
    # Newest first: the silos, then this row's Redis.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
    pids=()
  done
done
