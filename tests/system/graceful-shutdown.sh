#!/usr/bin/env bash
# System test: SIGTERM on a silo writes its shards' checkpoints before it leaves. A silo with Redis clustering
# (table metadata in Redis) and a checkpoint interval of one hour, so the timer never writes during the test: beyond
# the one empty checkpoint each shard writes when it first starts, every checkpoint file was written by the shutdown.
# After a restart on the same directory, the same queries return the same neighbours and scores, so the rows came
# back exactly. Bounded: every wait has a deadline, every process is stopped by PID at the end. Needs redis-server,
# jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6392
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "graceful-shutdown test" redis-server jq curl

start_redis $redis_port

checkpoints="$work/checkpoints"
start_silo() {  # start_silo RUN: one silo of cluster "graceful", checkpoints every hour (never, in this test)
  dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
    --Orleans:ClusterId=graceful --Orleans:SiloPort=11430 --Orleans:GatewayPort=30430 --Http:Port=8430 --Http:Dashboard=false \
    --Checkpoints:Directory="$checkpoints" --Checkpoints:Interval=01:00:00 >"$work/silo-$1.log" 2>&1 &
  silo=$!
  pids+=($silo)
  wait_for "silo ($1) ready" 90 curl -sf "http://127.0.0.1:8430/ready" || { cat "$work/silo-$1.log"; exit 1; }
}
embed() { Orleans__ClusterId=graceful timeout 300 dotnet "$embed_dll" "$@" --cluster "redis://127.0.0.1:$redis_port"; }

start_silo first
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 500 --items 300 --ratings 30000 --seed 3
embed train --ratings "$work/ratings.csv" --model mf --dim 16 --epochs 2 --shards 4 --table-prefix g --report "$work/report.json" >"$work/train.txt"
tail -2 "$work/train.txt"
for key in 1 7 42; do embed query --table g.items --key "$key" -k 10 --json >"$work/before-$key.json"; done
embed query --table g.users --key 3 -k 10 --json >"$work/before-user.json"
# Each shard wrote one empty checkpoint when it first started (so that a lost directory is noticed later); the
# timer (every hour) wrote none, so every file beyond those was written by the shutdown.
initial=$(find "$checkpoints" -name '*.psck' 2>/dev/null | wc -l)
echo "checkpoint files before SIGTERM: $initial (one empty one per shard)"
(( initial == 14 )) || { echo "expected 14 initial checkpoints, one per shard (g.items_count included): the timer may have written"; exit 1; }

# The queries after the restart activate the shards of g.users, g.items and g.items_count (item queries leave out
# rarely rated items by default, reading their training counts); those must restore every row.
rows_written=$(( $(embed tables describe g.users --json | jq .rows) + $(embed tables describe g.items --json | jq .rows) + $(embed tables describe g.items_count --json | jq .rows) ))
term_at=$SECONDS
kill -TERM "$silo"
wait_for "silo to exit after SIGTERM" 60 bash -c "! kill -0 $silo 2>/dev/null" || { cat "$work/silo-first.log"; exit 1; }
set +e; wait "$silo"; rc=$?; set -e
echo "silo exited with code $rc, $((SECONDS - term_at)) s after SIGTERM"
(( rc == 0 )) || { echo "expected exit code 0 after SIGTERM"; tail -40 "$work/silo-first.log"; exit 1; }
# The stop writes every shard's checkpoint first, before the silo leaves the membership; deactivation then has
# nothing new to write.
written=$(grep -oE 'Stopping: checkpoints of the [0-9]+ shards still here written' "$work/silo-first.log" | awk '{print $5}')
files=$(( $(find "$checkpoints" -name '*.psck' | wc -l) - initial ))
echo "checkpoints written on shutdown: ${written:-0} (log), $files files"
(( ${written:-0} == 14 && files == 14 )) || { echo "expected 14 checkpoints (4 shards each of g.users, g.items and g.items_count, 1 each of g.user_bias and g.item_bias) written on shutdown"; grep -i checkpoint "$work/silo-first.log" || true; exit 1; }

start_silo second
for key in 1 7 42; do embed query --table g.items --key "$key" -k 10 --json >"$work/after-$key.json"; done
embed query --table g.users --key 3 -k 10 --json >"$work/after-user.json"
for name in 1 7 42 user; do
  if ! diff <(jq -S . "$work/before-$name.json") <(jq -S . "$work/after-$name.json") >/dev/null; then
    echo "query $name differs after the restart:"; diff <(jq -S . "$work/before-$name.json") <(jq -S . "$work/after-$name.json") || true; exit 1
  fi
done
restored=$(grep -o 'restored [0-9]* rows' "$work/silo-second.log" | awk '{s += $2} END {print s + 0}')
echo "after restart: $restored rows restored of the $rows_written rows g.users, g.items and g.items_count held; 4 queries return identical neighbours and scores"
(( restored == rows_written )) || { echo "rows restored differ from rows written"; exit 1; }
echo "graceful-shutdown system test: 1 passed, 0 failed"
