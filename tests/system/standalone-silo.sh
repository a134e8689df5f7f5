#!/usr/bin/env bash
# System test: a standalone silo process on loopback, the embed console as a plain Orleans client of it.
# Bounded in time: the silo must open its gateway within 60 s, the job has a timeout, the silo is stopped by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
ratings="${RATINGS:-$root/../shared/data/movielens/ml-latest-small/ratings.csv}"
gateway="${GATEWAY_PORT:-30170}"
silo_port="${SILO_PORT:-11170}"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
log="$work/silo.log"

dotnet "$silo_dll" --Orleans:SiloPort="$silo_port" --Orleans:GatewayPort="$gateway" >"$log" 2>&1 &
silo_pid=$!
pids+=($silo_pid)
wait_for "silo gateway port $gateway" 60 bash -c "kill -0 $silo_pid && exec 3<>/dev/tcp/127.0.0.1/$gateway" || { cat "$log"; exit 1; }
echo "silo up on 127.0.0.1:$gateway (pid $silo_pid)"
# A second silo given the running one's gateway port must not start (it would share the port and take clients).
set +e; timeout 60 dotnet "$silo_dll" --Orleans:SiloPort=$((silo_port + 1)) --Orleans:GatewayPort="$gateway" --Http:Port=8179 >"$work/second.log" 2>&1; rc=$?; set -e
cat "$work/second.log"
(( rc == 2 )) && grep -q "GatewayPort = $gateway on 127.0.0.1 is already in use" "$work/second.log" && (( $(wc -l <"$work/second.log") == 1 )) \
  || { echo "a second silo on gateway port $gateway: exit $rc, expected 2 with one line saying the port is in use"; exit 1; }
echo "ok: a second silo on the same gateway port exits 2 with one line"
# A setting that is not a number: one line and exit 2, no abort and no stack trace.
set +e; timeout 60 dotnet "$silo_dll" --Orleans:SiloPort=abc >"$work/bad.log" 2>&1; rc=$?; set -e
cat "$work/bad.log"
(( rc == 2 )) && grep -q "Orleans:SiloPort" "$work/bad.log" && (( $(wc -l <"$work/bad.log") == 1 )) \
  || { echo "--Orleans:SiloPort=abc: exit $rc, expected 2 with one line naming the setting"; exit 1; }

cluster="localhost:$gateway"
movies="$(dirname "$ratings")/movies.csv"
timeout 600 dotnet "$embed_dll" train --ratings "$ratings" --items "$movies" --model mf --epochs "${EPOCHS:-3}" --workers 2 --cluster "$cluster" --table-prefix system --report "$work/report.json"
grep -q '"validation_rmse"' "$work/report.json"
# The same job over a bfloat16 wire: training pulls half the bytes of values (validation still pulls float32, so the
# job's total is under 0.6 of float32's), and validation RMSE within 0.01 of float32's.
timeout 600 dotnet "$embed_dll" train --ratings "$ratings" --model mf --epochs "${EPOCHS:-3}" --workers 2 --cluster "$cluster" --table-prefix system-bf16 --wire bf16 --json >"$work/bf16.json"
jq -e --slurpfile f32 "$work/report.json" '
  (.validation_rmse - $f32[0].validation_rmse | fabs) <= 0.01 and .payload_bytes_received < 0.6 * $f32[0].payload_bytes_received' "$work/bf16.json" >/dev/null \
  || { echo "bf16 wire: $(jq -c '{validation_rmse, payload_bytes_received}' "$work/bf16.json") against f32 $(jq -c '{validation_rmse, payload_bytes_received}' "$work/report.json")"; exit 1; }
echo "bf16 wire: validation RMSE $(jq .validation_rmse "$work/bf16.json") (f32 $(jq .validation_rmse "$work/report.json")), bytes received $(jq .payload_bytes_received "$work/bf16.json") (f32 $(jq .payload_bytes_received "$work/report.json"))"
# Both jobs sent their steps to the silo's step socket (not as grain calls through the gateway).
jq -e '.socket_calls > 0' "$work/report.json" >/dev/null && jq -e '.socket_calls > 0' "$work/bf16.json" >/dev/null \
  || { echo "no step went over the step socket: $(jq -c '{calls, socket_calls}' "$work/report.json")"; exit 1; }
echo "ok: steps over the step socket ($(jq .socket_calls "$work/report.json") of $(jq .calls "$work/report.json") calls)"
# A step socket port already taken (here the running silo's gateway): one line naming Steps:Port, exit 2.
set +e; timeout 60 dotnet "$silo_dll" --Orleans:SiloPort=$((silo_port + 2)) --Orleans:GatewayPort=$((gateway + 2)) --Http:Port=8178 --Steps:Port="$gateway" >"$work/steps.log" 2>&1; rc=$?; set -e
cat "$work/steps.log"
(( rc == 2 )) && grep -q "Steps:Port = $gateway on 127.0.0.1 is already in use" "$work/steps.log" && (( $(wc -l <"$work/steps.log") == 1 )) \
  || { echo "a silo with Steps:Port=$gateway: exit $rc, expected 2 with one line saying the port is in use"; exit 1; }
timeout 60 dotnet "$embed_dll" tables list --cluster "$cluster" | tee "$work/tables.txt"
grep -q "system.items" "$work/tables.txt"
printf 'userId,movieId\n1,1\n1,50\n610,2\n' >"$work/pairs.csv"
timeout 60 dotnet "$embed_dll" predict --pairs "$work/pairs.csv" --out "$work/predictions.csv" --table-prefix system --cluster "$cluster"
test "$(wc -l <"$work/predictions.csv")" -eq 4
cat "$work/predictions.csv"
# Predictions only read: a user the tables do not have is an error (exit 2) naming it, and no row is created;
# --skip-unknown leaves the pair out.
users_rows() { timeout 60 dotnet "$embed_dll" tables describe system.users --json --cluster "$cluster" | jq .rows; }
rows_before=$(users_rows)
printf 'userId,movieId\n1,1\n99999,50\n' >"$work/unknown.csv"
set +e; timeout 60 dotnet "$embed_dll" predict --pairs "$work/unknown.csv" --out "$work/unknown-out.csv" --table-prefix system --cluster "$cluster" 2>"$work/unknown.err"; rc=$?; set -e
cat "$work/unknown.err"
(( rc == 2 )) && grep -q "user 99999" "$work/unknown.err" || { echo "predict for an unknown user: exit $rc, expected 2 naming user 99999"; exit 1; }
timeout 60 dotnet "$embed_dll" predict --pairs "$work/unknown.csv" --out "$work/unknown-out.csv" --table-prefix system --cluster "$cluster" --skip-unknown
test "$(wc -l <"$work/unknown-out.csv")" -eq 2
rows_after=$(users_rows)
(( rows_before == rows_after )) || { echo "predict created rows: system.users had $rows_before rows, now $rows_after"; exit 1; }
echo "ok: predict for an unknown user refused (exit 2), skipped with --skip-unknown, rows of system.users unchanged ($rows_after)"
# Training the same prefix with another optimizer is refused (the tables keep theirs), naming both and --fresh.
set +e; timeout 120 dotnet "$embed_dll" train --ratings "$ratings" --model mf --epochs 1 --optimizer sgd --cluster "$cluster" --table-prefix system >"$work/retrain.out" 2>"$work/retrain.err"; rc=$?; set -e
cat "$work/retrain.err"
(( rc == 2 )) && grep -q "sgd" "$work/retrain.err" && grep -q -- "--fresh" "$work/retrain.err" || { echo "re-training with another optimizer: exit $rc, expected 2 naming sgd and --fresh"; cat "$work/retrain.out"; exit 1; }
(( $(users_rows) == rows_after )) || { echo "the refused job changed system.users"; exit 1; }
echo "ok: re-training system.* with another optimizer refused (exit 2), rows unchanged"
# Queries against the trained tables: by label (titles set by --items), recommendations, and bad queries that
# must fail with exit code 2 and a clear message.
timeout 60 dotnet "$embed_dll" query --table system.items --label "Toy Story (1995)" -k 5 --cluster "$cluster" | tee "$work/query.txt"
grep -q "Toy Story (1995)" "$work/query.txt"
test "$(grep -cE '^ +[0-9]+ +[0-9]+ ' "$work/query.txt")" -eq 5
timeout 60 dotnet "$embed_dll" recommend --user 1 --ratings "$ratings" --table-prefix system -k 5 --json --cluster "$cluster" | tee "$work/rec.json"
grep -q '"items":\[{"rank":1' "$work/rec.json"
for bad in "--table nope --key 1" "--table system.items --vector 0.1,0.2" "--table system.items --key 1 -k 0" "--table system.items --label No-Such-Title"; do
  set +e
  # shellcheck disable=SC2086
  timeout 60 dotnet "$embed_dll" query $bad --cluster "$cluster" >"$work/bad.txt" 2>&1
  rc=$?
  set -e
  cat "$work/bad.txt"
  if [[ $rc -ne 2 ]] || ! grep -q '^error: ' "$work/bad.txt"; then echo "query $bad: expected exit 2 with an error, got $rc"; exit 1; fi
done
timeout 60 dotnet "$embed_dll" tables drop system.items --cluster "$cluster"
echo "standalone silo system test: 1 passed, 0 failed"
