#!/usr/bin/env bash
# System test: shards follow the silos. A real Redis; one silo (Redis clustering, no checkpoints, so rows survive a
# move only by travelling with it) starts a training job; two more silos join mid-training and, within 30 s of their
# being ready, every table's shards are spread over the three (each silo holds ⌊S/3⌋ or ⌈S/3⌉ of a table's S shards);
# then one of the silos holding shards gets SIGTERM mid-training: it hands its shards, with their rows, to the other
# two and exits 0. The job must finish with updates_lost 0 and a validation RMSE within 0.005 of the same job run
# undisturbed on one silo. Bounded: every wait has a deadline, every process is stopped by PID at the end.
# Needs redis-server, jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
redis_port=6393
epochs="${EPOCHS:-40}"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "elastic-silos test" redis-server jq curl

start_redis $redis_port
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 6000 --items 3000 --ratings 1500000 --seed 12

declare -A silo_pid
start_silo() {  # start_silo N: silo N of the cluster named $cluster_id; balancing every 2 s
  local n=$1
  dotnet "$silo_dll" --Orleans:Clustering:ProviderType=Redis --Orleans:Clustering:ConnectionString=127.0.0.1:$redis_port \
    --Orleans:ClusterId="$cluster_id" --Orleans:SiloPort=$((11440 + n)) --Orleans:GatewayPort=$((30440 + n)) --Http:Port=$((8440 + n)) \
    --Http:Dashboard=false --Balancing:Interval=00:00:02 >"$work/silo-$cluster_id-$n.log" 2>&1 &
  silo_pid[$n]=$!
  pids+=(${silo_pid[$n]})
}
embed() { Orleans__ClusterId="$cluster_id" timeout 120 dotnet "$embed_dll" "$@" --cluster "redis://127.0.0.1:$redis_port"; }

# Each table's shards per silo, as "table silo=count ...", one table per line.
placement() {
  local t
  for t in job.users job.items job.user_bias job.item_bias; do
    embed tables describe "$t" --json | jq -r '"\(.name) \(.shards) " + ([.placement | to_entries[] | "\(.key)=\(.value)"] | join(" "))'
  done
}

# spread N: true when every table's shards lie on exactly N silos, each holding floor(S/N) or ceil(S/N).
spread() {
  local n=$1
  placement >"$work/placement.txt" || return 1
  awk -v n="$n" '{ s = $2; share = int(s / n); if (NF - 2 != n && s >= n) bad = 1;
                   for (i = 3; i <= NF; i++) { split($i, kv, "="); c = kv[2]; if (c < share || c > share + 1) bad = 1 } }
                 END { exit bad }' "$work/placement.txt"
}

# run_job NAME ELASTIC: trains on a fresh cluster of one silo; ELASTIC=yes grows it to three and shrinks it to two.
run_job() {
  local name=$1 elastic=$2
  cluster_id="elastic-$name"
  start_silo 1
  wait_for "silo 1 ready" 90 curl -sf "http://127.0.0.1:8441/ready" || { cat "$work/silo-$cluster_id-1.log"; exit 1; }
  Orleans__ClusterId="$cluster_id" timeout 900 dotnet "$embed_dll" train --cluster "redis://127.0.0.1:$redis_port" \
    --ratings "$work/ratings.csv" --model mf --dim 16 --epochs "$epochs" --patience 100 --lr 0.005 --weight-decay 0.05 \
    --workers 2 --shards 6 --seed 5 --table-prefix job --report "$work/report-$name.json" >"$work/train-$name.txt" 2>&1 &
  local train_pid=$!
  pids+=($train_pid)
  if [[ $elastic == yes ]]; then
    wait_for "first epoch" 300 grep -qE '^ *1(/[0-9]+)? ' "$work/train-$name.txt" || { cat "$work/train-$name.txt"; exit 1; }
    start_silo 2
    start_silo 3
    for n in 2 3; do wait_for "silo $n ready" 90 curl -sf "http://127.0.0.1:$((8440 + n))/ready" || { cat "$work/silo-$cluster_id-$n.log"; exit 1; }; done
    local joined=$SECONDS
    wait_for "shards of every table spread over 3 silos" 30 spread 3 || { cat "$work/placement.txt"; exit 1; }
    spread_s=$((SECONDS - joined))
    echo "spread over 3 silos ${spread_s} s after silos 2 and 3 were ready:"; sed 's/^/  /' "$work/placement.txt"
    local arrived_metric
    arrived_metric=$(curl -sf "http://127.0.0.1:8443/metrics" | awk '/^ps_shards_arrived_total/ { s += $NF } END { printf "%d", s }')
    echo "silo 3 counts $arrived_metric shards arrived (ps_shards_arrived_total)"
    (( arrived_metric > 0 )) || { echo "silo 3 does not count the shards that arrived"; exit 1; }
    kill -0 "$train_pid" 2>/dev/null || { echo "the job ended before the leave: raise EPOCHS"; cat "$work/train-$name.txt"; exit 1; }
    local leaving=2 # spread over three: it holds its share of every table
    local term_at=$SECONDS
    kill -TERM "${silo_pid[$leaving]}"
    wait_for "silo $leaving to exit after SIGTERM" 90 bash -c "! kill -0 ${silo_pid[$leaving]} 2>/dev/null" || { tail -30 "$work/silo-$cluster_id-$leaving.log"; exit 1; }
    set +e; wait "${silo_pid[$leaving]}"; local rc=$?; set -e
    echo "silo $leaving exited with code $rc, $((SECONDS - term_at)) s after SIGTERM"
    (( rc == 0 )) || { echo "expected exit code 0 after SIGTERM"; tail -40 "$work/silo-$cluster_id-$leaving.log"; exit 1; }
    kill -0 "$train_pid" 2>/dev/null || { echo "the job ended before the leave was over: raise EPOCHS"; exit 1; }
    moved=$(grep -c 'moving to silo' "$work/silo-$cluster_id-$leaving.log" || true)
    arrived=$(cat "$work"/silo-"$cluster_id"-{1,3}.log | grep -c 'arrived by migration' || true)
    echo "silo $leaving moved $moved shards away before it left; silos 1 and 3 logged $arrived arrivals in all"
    (( moved > 0 )) || { echo "the leaving silo moved no shard: did it hold any?"; exit 1; }
  fi
  if ! wait "$train_pid"; then echo "job $name failed:"; cat "$work/train-$name.txt"; exit 1; fi
  tail -2 "$work/train-$name.txt"
  for t in job.users job.items; do embed tables describe "$t" --json >"$work/describe-$name-$t.json"; done
  if [[ $elastic == yes ]]; then
    spread 2 || { echo "after the leave, the shards are not spread over the 2 remaining silos:"; cat "$work/placement.txt"; exit 1; }
    echo "after the leave:"; sed 's/^/  /' "$work/placement.txt"
  fi
  for n in 1 2 3; do [[ -n "${silo_pid[$n]:-}" ]] && { kill "${silo_pid[$n]}" 2>/dev/null || true; wait "${silo_pid[$n]}" 2>/dev/null || true; }; done
  silo_pid=()
}

run_job calm no
run_job elastic yes

calm=$(jq -r .validation_rmse "$work/report-calm.json")
elastic=$(jq -r .validation_rmse "$work/report-elastic.json")
lost=$(jq -r .updates_lost "$work/report-elastic.json")
retries=$(jq -r .retries "$work/report-elastic.json")
diff=$(awk -v a="$calm" -v b="$elastic" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", d }')
echo "validation RMSE: undisturbed on 1 silo $calm, grown to 3 silos and shrunk to 2 $elastic (difference $diff)"
echo "updates lost: $lost; retries: $retries; spread over 3 silos ${spread_s} s after they were ready"
(( lost == 0 )) || { echo "the graceful leave lost $lost updates"; exit 1; }
awk -v d="$diff" 'BEGIN { exit !(d <= 0.005) }' || { echo "RMSE differs by more than 0.005"; exit 1; }
echo "elastic-silos system test: 1 passed, 0 failed"
