#!/usr/bin/env bash
# System check: `embed bench query --peer faiss` (embedded silo) times FAISS's exact flat index on the same rows and
# queries in the same run and reports it; both exact searches must return the same top-10 (agreement 1.0) for the
# dot and cosine metrics, and the JSON must carry the peer's figures and our ratio to them. Small table: this checks
# the wiring and the agreement, not the speed (timing targets belong in benchmarks, see README). The report names the
# BLAS FAISS ran on; with the reference BLAS the bench warns that its ratios flatter us, and this check fails (CI
# installs OpenBLAS).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "bench-faiss-peer" jq

for metric in dot cosine; do
  timeout 300 dotnet "$embed_dll" bench query --rows 20000 --dim 32 --batch 1,64 --calls 5 --metric "$metric" --peer faiss --json \
    2>"$work/bench-$metric.err" >"$work/bench-$metric.json" || { cat "$work/bench-$metric.err"; exit 1; }
  jq -e '.peer.name != null and .peer.blas != null and .peer.blas != "reference" and .peer.blas != "unknown"
    and (.peer.runs | length) == 2
    and all(.peer.runs[]; .agreement == 1 and .queries_per_second > 0 and .ours_over_peer_queries_per_second > 0)' \
    "$work/bench-$metric.json" >/dev/null \
    || { echo "bench query --peer faiss ($metric): unexpected report"; cat "$work/bench-$metric.json"; exit 1; }
  jq -r --arg m "$metric" '.peer.blas as $b | .peer.runs[] | "\($m) batch \(.batch): FAISS (\($b) BLAS) \(.queries_per_second | floor) queries/s, ours \(.ours_over_peer_queries_per_second * 100 | floor / 100)x, top-10 agreement \(.agreement)"' "$work/bench-$metric.json"
done
echo "bench-faiss-peer: passed"
