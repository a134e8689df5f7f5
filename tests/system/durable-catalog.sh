#!/usr/bin/env bash
# System test: tables outlive their metadata store. Each table keeps a record (spec and metadata, table.json) beside
# its shards' checkpoints. (1) A silo with development clustering keeps metadata in memory: after a restart on the
# same checkpoint directory, `embed tables list` lists the trained tables and queries return the same neighbours and
# scores. (2) With Redis clustering, the silo restarts while Redis keeps the metadata, and then Redis itself restarts
# empty (no persistence) while the silo is down: after each, the same. (3) A shard whose checkpoint directory was
# deleted refuses to start empty. Bounded: every wait has a deadline, every process is stopped by PID at the end.
# Needs redis-server, redis-cli, jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6394
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "durable-catalog test" redis-server redis-cli jq curl

dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 400 --items 300 --ratings 20000 --seed 4

# start_silo NAME [ARGS...]: a silo on fixed ports with checkpoints in $work/checkpoints-$mode, ready or fail.
start_silo() {
  local name=$1; shift
  dotnet "$silo_dll" --Orleans:SiloPort=11450 --Orleans:GatewayPort=30450 --Http:Port=8450 --Http:Dashboard=false \
    --Checkpoints:Directory="$work/checkpoints-$mode" "$@" >"$work/silo-$name.log" 2>&1 &
  silo=$!
  pids+=($silo)
  wait_for "silo $name ready" 90 curl -sf "http://127.0.0.1:8450/ready" || { cat "$work/silo-$name.log"; exit 1; }
}
stop_silo() {
  kill -TERM "$silo"
  wait_for "silo to exit after SIGTERM" 90 bash -c "! kill -0 $silo 2>/dev/null" || exit 1
  wait "$silo" 2>/dev/null || true
}
queries() {  # queries OUT: the answers that must survive, as JSON files
  local key
  for key in 1 7 42; do embed query --table d.items --key "$key" -k 10 --json >"$work/$1-$key.json"; done
  embed query --table d.users --key 3 -k 10 --json >"$work/$1-user.json"
}
same() {
  local name
  for name in 1 7 42 user; do
    diff <(jq -S . "$work/before-$mode-$name.json") <(jq -S . "$work/after-$mode-$name.json") >/dev/null \
      || { echo "query $name differs after the restart:"; diff <(jq -S . "$work/before-$mode-$name.json") <(jq -S . "$work/after-$mode-$name.json") || true; exit 1; }
  done
}
listed() {
  embed tables list | tee "$work/tables-$mode.txt"
  for t in d.users d.items d.user_bias d.item_bias; do
    grep -q "^$t " "$work/tables-$mode.txt" || { echo "table $t is not listed after the restart"; exit 1; }
  done
}

echo "== development clustering: metadata in the silo's memory"
mode=dev
embed() { timeout 120 dotnet "$embed_dll" "$@" --cluster localhost:30450; }
start_silo dev-first
embed train --ratings "$work/ratings.csv" --model mf --dim 8 --epochs 2 --shards 2 --table-prefix d >/dev/null
queries before-dev
stop_silo
start_silo dev-second
listed
queries after-dev
same
echo "ok: after a restart the silo lists the tables and answers the same queries"
stop_silo

# A shard whose checkpoint directory is gone must not start empty: the query fails naming the directory.
lost="$work/checkpoints-dev/d.items/shard-0001"
rm -rf "$lost"
start_silo dev-third
set +e; embed query --table d.items --key 1 -k 10 >"$work/lost.out" 2>"$work/lost.err"; rc=$?; set -e
cat "$work/lost.err"
(( rc != 0 )) && grep -q "shard 1 cannot start" "$work/lost.err" && grep -qF "$lost" "$work/lost.err" \
  || { echo "a query over a shard whose checkpoints were deleted: exit $rc, expected an error naming $lost"; cat "$work/lost.out"; exit 1; }
[[ ! -e "$lost" ]] || { echo "the refused shard wrote a new, empty checkpoint directory"; exit 1; }
set +e; embed tables list >"$work/list-lost.txt" 2>&1; rc=$?; set -e
cat "$work/list-lost.txt"
(( rc == 1 )) && grep -q "^d.items .*error: .*shard 1 cannot start" "$work/list-lost.txt" && grep -q "^d.users " "$work/list-lost.txt" \
  || { echo "tables list: exit $rc, expected 1 with d.items in error and the other tables listed"; exit 1; }
echo "ok: a shard whose checkpoint directory was deleted refuses to start empty, naming it"
stop_silo

echo "== Redis clustering: Redis restarts empty while the silo is down"
mode=redis
start_redis $redis_port
redis_pid=${pids[-1]}
redis_args=(--Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port --Orleans:ClusterId=durable)
embed() { Orleans__ClusterId=durable timeout 120 dotnet "$embed_dll" "$@" --cluster "redis://127.0.0.1:$redis_port"; }
start_silo redis-first "${redis_args[@]}"
embed train --ratings "$work/ratings.csv" --model mf --dim 8 --epochs 2 --shards 2 --table-prefix d >/dev/null
queries before-redis
stop_silo
# The silo alone restarts first: its tables' state comes back from Redis itself (read by a fresh process).
start_silo redis-kept "${redis_args[@]}"
listed
queries after-redis
same
echo "ok: after a restart with Redis keeping the metadata the silo lists the tables and answers the same queries"
stop_silo
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
start_redis $redis_port
echo "Redis restarted with $(redis-cli -p $redis_port dbsize) keys"
start_silo redis-second "${redis_args[@]}"
listed
queries after-redis
same
echo "ok: after Redis restarted empty the silo lists the tables and answers the same queries"
echo "durable-catalog system test: 4 passed, 0 failed"
