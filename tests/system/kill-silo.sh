#!/usr/bin/env bash
# System test: a real Redis, 3 silo processes with Redis clustering and checkpoints in a shared directory, and a
# training job from a worker process on MovieLens-like synthetic data. The same job runs twice: undisturbed, and
# with one silo killed by SIGKILL in the middle. The killed job must finish, its validation RMSE must be within
# 0.01 of the undisturbed one, and the report says rows restored, updates lost, retries and the time from the
# kill to the first successful call of a moved shard. Bounded: every wait has a deadline, every process is
# stopped by PID at the end. Needs redis-server, jq. CHECKPOINT_STORE=blob or s3 keeps the checkpoints in object
# storage instead of a directory (Azurite, s3rver: started here, installed by tests/system/install-emulators.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6391
# A call to the dead silo is answered by nothing: it fails after the response timeout and is then retried, so this
# bounds the time from the kill to recovery (Orleans' default is 30 s; the silo's and the console's 20 s).
response_timeout="${RESPONSE_TIMEOUT:-00:00:05}"
# The strongly consistent grain directory lets a crashed silo's shards start elsewhere only when its lease ends
# (Orleans' default 30 s from the crash, so that a silo declared dead by mistake stops serving first). Here the silo is
# certainly dead, so the test shortens it; DEAD_SILO_LEASE=00:00:30 measures the default.
dead_silo_lease="${DEAD_SILO_LEASE:-00:00:05}"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "kill-silo test" redis-server jq curl

start_redis $redis_port
store="${CHECKPOINT_STORE:-directory}"
case "$store" in
  directory) ;;
  # Credentials travel as environment variables, never on a command line (ps shows those to every user).
  blob) start_azurite 10411; export Checkpoints__Blob__ConnectionString="$azurite_connection" ;;
  s3) start_s3rver 4571; export Checkpoints__S3__AccessKey=S3RVER Checkpoints__S3__SecretKey=S3RVER ;;
  *) echo "CHECKPOINT_STORE=$store: use directory, blob or s3"; exit 2 ;;
esac
# checkpoint_args CLUSTER: where the silos of CLUSTER keep their checkpoints (a directory, or a prefix of a bucket).
checkpoint_args() {
  case "$store" in
    directory) echo "--Checkpoints:Directory=$work/checkpoints-$1" ;;
    blob) echo "--Checkpoints:Blob:Container=checkpoints --Checkpoints:Blob:Prefix=$1/" ;;
    s3) echo "--Checkpoints:S3:Bucket=checkpoints --Checkpoints:S3:Prefix=$1/ --Checkpoints:S3:ServiceUrl=http://127.0.0.1:4571" ;;
  esac
}

dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 2000 --items 1000 --ratings 400000 --seed 11

declare -A silo_pid
start_silo() {  # start_silo N: silo N of the cluster named $cluster_id
  local n=$1
  dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
    --Orleans:ClusterId="$cluster_id" --Orleans:SiloPort=$((11410 + n)) --Orleans:GatewayPort=$((30410 + n)) --Http:Port=$((8410 + n)) \
    --Orleans:Membership:ProbeTimeout=00:00:01 --Orleans:Membership:NumMissedProbesLimit=2 --Orleans:Membership:NumVotesForDeathDeclaration=1 \
    --Orleans:Membership:DeadSiloLease=$dead_silo_lease \
    $(checkpoint_args "$cluster_id") --Checkpoints:Interval=00:00:01 --Http:Dashboard=false \
    --Orleans:Messaging:ResponseTimeout=$response_timeout \
    >"$work/silo-$cluster_id-$n.log" 2>&1 &
  silo_pid[$n]=$!
  pids+=(${silo_pid[$n]})
}

# run_job NAME KILL: starts a fresh 3-silo cluster, trains, optionally kills silo 2 after the second epoch.
run_job() {
  local name=$1 kill=$2
  cluster_id="kill-test-$name"
  ensure_s3rver
  for n in 1 2 3; do start_silo $n; done
  for n in 1 2 3; do
    wait_for "silo $n ready" 90 curl -sf "http://127.0.0.1:$((8410 + n))/ready" \
      || { cat "$work/silo-$cluster_id-$n.log"; tail -30 "$work"/azurite.log "$work"/s3rver.log 2>/dev/null; exit 1; }
  done
  # The worker reaches the silos through Redis membership, like any client of a multi-silo cluster.
  Orleans__ClusterId="$cluster_id" Orleans__Messaging__ResponseTimeout=$response_timeout timeout 600 dotnet "$embed_dll" train --cluster "redis://127.0.0.1:$redis_port" \
    --ratings "$work/ratings.csv" --model mf --dim 16 --epochs 12 --patience 100 --lr 0.005 --weight-decay 0.05 --workers 2 \
    --seed 5 --table-prefix job --report "$work/report-$name.json" >"$work/train-$name.txt" 2>&1 &
  local train_pid=$!
  pids+=($train_pid)
  if [[ $kill == yes ]]; then
    wait_for "second epoch" 300 grep -qE '^ *2(/[0-9]+)? ' "$work/train-$name.txt" || { cat "$work/train-$name.txt"; exit 1; }
    kill_time=$(date +%s.%N)
    kill -9 "${silo_pid[2]}"
    echo "killed silo 2 (pid ${silo_pid[2]}) at $(date -u +%H:%M:%S.%N) after epoch 2"
  fi
  if ! wait "$train_pid"; then echo "job $name failed:"; cat "$work/train-$name.txt"; exit 1; fi
  tail -3 "$work/train-$name.txt"
  for n in 1 2 3; do kill "${silo_pid[$n]}" 2>/dev/null || true; wait "${silo_pid[$n]}" 2>/dev/null || true; done
}

run_job calm no
run_job killed yes

calm=$(jq -r .validation_rmse "$work/report-calm.json")
killed=$(jq -r .validation_rmse "$work/report-killed.json")
retries=$(jq -r .retries "$work/report-killed.json")
lost=$(jq -r .updates_lost "$work/report-killed.json")
first=$(jq -r '[.recoveries[].recovered] | min // empty' "$work/report-killed.json")
restored=$(cat "$work"/silo-kill-test-killed-{1,3}.log | grep -o 'restored [0-9]* rows' | awk '{s += $2} END {print s + 0}')
[[ -n "$first" ]] || { echo "no recovery was recorded: did the kill hit the job?"; jq . "$work/report-killed.json"; exit 1; }
recovery_s=$(awk -v k="$kill_time" -v r="$(date -d "$first" +%s.%N)" 'BEGIN { printf "%.2f", r - k }')
diff=$(awk -v a="$calm" -v b="$killed" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", d }')
echo "validation RMSE: undisturbed $calm, with silo 2 killed $killed (difference $diff)"
echo "checkpoints: $store; rows restored from them: $restored; updates lost: $lost; retries: $retries; kill to first successful retry: ${recovery_s} s (dead-silo lease $dead_silo_lease)"
awk -v d="$diff" 'BEGIN { exit !(d <= 0.01) }' || { echo "RMSE differs by more than 0.01"; exit 1; }
(( retries > 0 )) || { echo "the job made no retries: the kill did not hit it"; exit 1; }
(( restored > 0 )) || { echo "no row was restored from the $store checkpoints after the kill"; exit 1; }
echo "kill-silo system test: 1 passed, 0 failed"
