#!/usr/bin/env bash
# System test: a checkpoint that cannot be written is never silent. A silo checkpoints every second into a directory
# where one shard's checkpoint directory is a plain file (what a read-only or broken volume looks like to a shard,
# and reproducible as root, whom permissions do not stop). A training job on that table must still finish, warn on
# stderr and list the failing shard in its report (checkpoint_errors); the silo's /ready answers 503 naming it, its
# log has one line per failure and no stack trace, and ps_checkpoint_failures_total counts them. Once the file is
# removed the next write succeeds and /ready answers 200 again. Bounded: every wait has a deadline.
# Needs jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "checkpoint-failure test" jq curl

checkpoints="$work/checkpoints"
mkdir -p "$checkpoints/ck.users"
touch "$checkpoints/ck.users/shard-0001"   # shard 1 of ck.users cannot create its checkpoint directory
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 300 --items 200 --ratings 20000 --seed 6
dotnet "$silo_dll" --Orleans:SiloPort=11470 --Orleans:GatewayPort=30470 --Http:Port=8470 --Http:Dashboard=false \
  --Checkpoints:Directory="$checkpoints" --Checkpoints:Interval=00:00:01 >"$work/silo.log" 2>&1 &
pids+=($!)
wait_for "silo ready" 90 curl -sf http://127.0.0.1:8470/ready || { cat "$work/silo.log"; exit 1; }

train() {
  timeout 300 dotnet "$embed_dll" train --cluster localhost:30470 --ratings "$work/ratings.csv" --model mf --dim 8 --epochs 2 \
    --shards 2 --table-prefix ck --report "$work/report.json" >"$work/train.out" 2>"$work/train.err" || { cat "$work/train.out" "$work/train.err"; exit 1; }
}
train   # creates the tables; shard 1 of ck.users fails its first timed checkpoint a second later
wait_for "/ready to fail" 30 bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8470/ready) == 503 ]]' || exit 1
train   # resumes the same tables; at its end the failing shard is still failing
cat "$work/train.err"
grep -q "warning: checkpoint failing: table 'ck.users' shard 1" "$work/train.err" || { echo "the job did not warn about the failing checkpoint"; exit 1; }
jq -e '.checkpoint_errors | length > 0 and any(.[]; contains("ck.users'"'"' shard 1"))' "$work/report.json" >/dev/null \
  || { echo "the report lists no checkpoint error: $(jq -c .checkpoint_errors "$work/report.json")"; exit 1; }

code=$(curl -s -o "$work/ready.txt" -w '%{http_code}' http://127.0.0.1:8470/ready)
echo "/ready: $code $(cat "$work/ready.txt")"
[[ $code == 503 ]] && grep -q "checkpoints failing" "$work/ready.txt" || { echo "/ready should fail while a checkpoint fails"; exit 1; }
failures=$(curl -sf http://127.0.0.1:8470/metrics | awk '/^ps_checkpoint_failures_total/ { s += $NF } END { printf "%d", s }')
lines=$(grep -c "checkpoint failed" "$work/silo.log" || true)
traces=$(grep -cE '^\s+at ' "$work/silo.log" || true)
echo "ps_checkpoint_failures_total $failures; $lines log lines; $traces stack-trace lines"
(( failures > 0 && lines > 0 && traces == 0 )) || { echo "expected failures counted, logged one line each, no stack trace"; tail -20 "$work/silo.log"; exit 1; }

# /metrics is for scrapes: other methods than GET and HEAD are refused.
for method in POST PUT DELETE; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" http://127.0.0.1:8470/metrics)
  [[ $code == 405 ]] || { echo "$method /metrics answered $code, expected 405"; exit 1; }
done
echo "ok: POST, PUT and DELETE on /metrics answer 405"

rm "$checkpoints/ck.users/shard-0001"
wait_for "/ready to recover after the next checkpoint" 30 curl -sf http://127.0.0.1:8470/ready || { curl -s http://127.0.0.1:8470/ready; exit 1; }
ls "$checkpoints/ck.users/shard-0001" | grep -q '\.psck$' || { echo "no checkpoint written after the fix"; exit 1; }
echo "checkpoint-failure system test: 1 passed, 0 failed"
