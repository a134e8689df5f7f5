#!/usr/bin/env bash
# System test: a silo whose Redis restarts empty does not pretend. A silo with Redis clustering, checkpoints every
# second and Orleans:Membership:RejoinTimeout 10 s trains a small job; Redis stops: /ready must answer 503 within 15 s;
# Redis comes back empty (no persistence): the silo, absent from the new membership table, must stop by itself with
# exit code 3 (checkpoints first) so that its supervisor starts it again. Started again (as a supervisor would), it
# joins, lists the tables and answers the same query. Bounded: every wait has a deadline, every process is stopped
# by PID at the end. Needs redis-server, jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6389
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "redis-outage test" redis-server jq curl

start_redis $redis_port
redis_pid=${pids[-1]}
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 300 --items 200 --ratings 20000 --seed 9
start_silo() {
  dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
    --Orleans:ClusterId=outage --Orleans:SiloPort=11477 --Orleans:GatewayPort=30477 --Http:Port=8477 --Http:Dashboard=false \
    --Checkpoints:Directory="$work/checkpoints" --Checkpoints:Interval=00:00:01 --Orleans:Membership:RejoinTimeout=00:00:10 \
    --Shutdown:Timeout=00:00:10 >"$work/silo-$1.log" 2>&1 &
  silo=$!
  pids+=($silo)
  wait_for "silo ($1) ready" 90 curl -sf http://127.0.0.1:8477/ready || { cat "$work/silo-$1.log"; exit 1; }
}
embed() { Orleans__ClusterId=outage timeout 120 dotnet "$embed_dll" "$@" --cluster "redis://127.0.0.1:$redis_port"; }

start_silo first
embed train --ratings "$work/ratings.csv" --model mf --dim 8 --epochs 2 --shards 2 --table-prefix ro >/dev/null
embed query --table ro.items --key 1 -k 5 --json >"$work/before.json"

kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
down_at=$SECONDS
wait_for "/ready to fail while Redis is down" 15 bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8477/ready) == 503 ]]' || exit 1
echo "/ready: $(curl -s http://127.0.0.1:8477/ready)"
start_redis $redis_port   # empty: no persistence
wait_for "the silo to stop by itself" 60 bash -c "! kill -0 $silo 2>/dev/null" || { tail -20 "$work/silo-first.log"; exit 1; }
set +e; wait "$silo"; rc=$?; set -e
echo "silo exited with code $rc, $((SECONDS - down_at)) s after Redis stopped"
grep -E "Not ready|Stopping after|Stopping:" "$work/silo-first.log" | cut -c1-220 || true
(( rc == 3 )) || { echo "expected exit code 3 (out of the cluster), got $rc"; tail -20 "$work/silo-first.log"; exit 1; }

start_silo second
embed tables list | grep -q "^ro.items " || { echo "ro.items is not listed after the restart"; exit 1; }
embed query --table ro.items --key 1 -k 5 --json >"$work/after.json"
diff <(jq -S . "$work/before.json") <(jq -S . "$work/after.json") >/dev/null || { echo "the query differs after the restart"; diff "$work/before.json" "$work/after.json" || true; exit 1; }
echo "ok: started again, the silo lists the tables and answers the same query"
echo "redis-outage system test: 1 passed, 0 failed"
