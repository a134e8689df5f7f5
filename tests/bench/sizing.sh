#!/usr/bin/env bash
# Memory per row, measured, for sizing silos: for each optimizer and dim, a fresh standalone silo (checkpoints to a
# directory every 2 s, as a loaded silo writes them) takes a training job whose tables hold ROWS user rows and a
# small item table; the table's own accounting gives its bytes per resident row, and the silo's peak resident set
# (VmHWM) over its idle baseline, divided by the rows, gives what a memory limit must hold per row (the .NET heap's
# slack and the copies a checkpoint takes included). Prints a Markdown table for helm/parameter-server/README.md.
# Usage: ROWS=1000000 DIMS="32 64 128" OPTIMIZERS="sgd adagrad adam" bash tests/bench/sizing.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "sizing bench" curl jq
rows="${ROWS:-1000000}"
dims="${DIMS:-32 64 128}"
optimizers="${OPTIMIZERS:-sgd adagrad adam}"
kib() { awk -v k="$1" '$1 == k ":" { print $2 }' "/proc/$2/status"; }

echo "| optimizer | dim | floor (values + state) | table bytes/row | silo peak RSS bytes/row | rows | baseline RSS |"
echo "|---|---|---|---|---|---|---|"
for opt in $optimizers; do
  for dim in $dims; do
    rm -rf "$work/checkpoints"
    dotnet "$silo_dll" --Orleans:SiloPort=11690 --Orleans:GatewayPort=30690 --Http:Port=8690 --Http:Dashboard=false \
      ${CHECKPOINT_ARGS---Checkpoints:Directory="$work/checkpoints" --Checkpoints:Interval=00:00:02} >"$work/silo.log" 2>&1 &
    silo=$!
    pids+=($silo)
    wait_for "silo ready" 60 curl -sf http://127.0.0.1:8690/ready >/dev/null || { cat "$work/silo.log"; exit 1; }
    baseline=$(kib VmRSS $silo)
    # Every user rates twice: ROWS user rows, 1,000 item rows; one epoch (the rows exist after it).
    timeout 900 dotnet "$embed_dll" bench train --cluster 127.0.0.1:30690 --users "$rows" --items 1000 --ratings $((2 * rows)) \
      --dim "$dim" --optimizer "$opt" --epochs 1 --json 2>"$work/bench.err" | tail -1 >"$work/bench.json" || { cat "$work/bench.err"; exit 1; }
    peak=$(kib VmHWM $silo)
    jq -r --arg opt "$opt" --arg dim "$dim" --argjson peak "$peak" --argjson base "$baseline" \
      '.memory[] | select(.table | endswith(".users")) |
       "| \($opt) | \($dim) | \(.floor_bytes_per_row) | \(.bytes_per_row | floor) | \((($peak - $base) * 1024 / .rows) | floor) | \(.rows) | \($base / 1024 | floor) MiB |"' \
      "$work/bench.json"
    kill $silo; wait $silo 2>/dev/null || true
  done
done
