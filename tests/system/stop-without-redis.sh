#!/usr/bin/env bash
# System test: a silo told to stop while its Redis (membership and metadata) is down still stops within its budget,
# checkpoints first. A silo with Redis clustering, checkpoints every hour (so only the stop writes) and
# Shutdown:Timeout 10 s trains a small job; Redis is stopped; SIGTERM. The silo must exit within 30 s (Orleans alone
# would wait a minute for each of two membership updates), and every shard's checkpoint must be written.
# Bounded: every wait has a deadline, every process is stopped by PID at the end. Needs redis-server, jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6396
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "stop-without-redis test" redis-server jq curl

start_redis $redis_port
redis_pid=${pids[-1]}
checkpoints="$work/checkpoints"
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 300 --items 200 --ratings 20000 --seed 8
dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
  --Orleans:ClusterId=stopdown --Orleans:SiloPort=11475 --Orleans:GatewayPort=30475 --Http:Port=8475 --Http:Dashboard=false \
  --Checkpoints:Directory="$checkpoints" --Checkpoints:Interval=01:00:00 --Shutdown:Timeout=00:00:10 >"$work/silo.log" 2>&1 &
silo=$!
pids+=($silo)
wait_for "silo ready" 90 curl -sf http://127.0.0.1:8475/ready || { cat "$work/silo.log"; exit 1; }
Orleans__ClusterId=stopdown timeout 300 dotnet "$embed_dll" train --cluster "redis://127.0.0.1:$redis_port" --ratings "$work/ratings.csv" \
  --model mf --dim 8 --epochs 2 --shards 2 --table-prefix sd >/dev/null
initial=$(find "$checkpoints" -name '*.psck' | wc -l)

kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
echo "Redis stopped; SIGTERM to the silo"
term_at=$SECONDS
kill -TERM "$silo"
wait_for "silo to exit within 30 s of SIGTERM" 30 bash -c "! kill -0 $silo 2>/dev/null" || { tail -20 "$work/silo.log"; exit 1; }
set +e; wait "$silo"; rc=$?; set -e
took=$((SECONDS - term_at))
written=$(grep -oE 'Stopping: checkpoints of the [0-9]+ shards still here written' "$work/silo.log" | awk '{print $5}')
files=$(( $(find "$checkpoints" -name '*.psck' | wc -l) - initial ))
echo "silo exited with code $rc, $took s after SIGTERM; checkpoints written on stop: ${written:-0} (log), $files files"
grep -E "Stop not finished|Stopping:" "$work/silo.log" | cut -c1-200 || true
(( rc == 0 && ${written:-0} == 8 && files == 8 )) || { echo "expected exit code 0 and 8 checkpoints (2+2+2 shards of sd.users, sd.items and sd.items_count, 1 each of the biases)"; tail -20 "$work/silo.log"; exit 1; }
echo "stop-without-redis system test: 1 passed, 0 failed"
