#!/usr/bin/env bash
# System check: `embed bench query --approx --data clustered` (embedded silo) builds every shard's index, answers
# approximate single-query searches from it, and reports recall@10 against exact search of the same queries; on a
# small clustered table probing 8 of the lists recall must be at least 0.9, and probing every list it must be 1.
# Small table: this checks the wiring and the recall, not the speed (timing targets belong in benchmarks, see README).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "bench-approx" jq

# 50,000 rows in 4 shards: about 112 lists per shard.
for probes in 8 200; do
  timeout 300 dotnet "$embed_dll" bench query --rows 50000 --dim 32 --shards 4 --batch 1 --calls 40 --data clustered \
    --approx --nprobe "$probes" --json 2>"$work/approx-$probes.err" >"$work/approx-$probes.json" \
    || { cat "$work/approx-$probes.err"; exit 1; }
  want=$([[ $probes == 200 ]] && echo 1 || echo 0.9)
  jq -e --argjson want "$want" '.data == "clustered" and .approx.lists > 400 and .approx.recall >= $want
    and .approx.recall_queries == 40 and .approx.queries_per_second > 0' "$work/approx-$probes.json" >/dev/null \
    || { echo "bench query --approx --nprobe $probes: unexpected report (recall at least $want wanted)"; cat "$work/approx-$probes.json"; exit 1; }
  jq -r '"probes \(.approx.probes): recall@10 \(.approx.recall), \(.approx.over_exact_queries_per_second * 10 | floor / 10)x the exact queries/s, \(.approx.lists) lists built in \(.approx.build_seconds * 100 | floor / 100) s"' "$work/approx-$probes.json"
done
echo "bench-approx: passed"
