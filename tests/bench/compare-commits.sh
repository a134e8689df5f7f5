#!/usr/bin/env bash
# Throughput of this checkout against an earlier commit, run back to back on this machine (it is noisy, so only
# ratios of runs taken in turn mean anything):
#   bash tests/bench/compare-commits.sh BASE_REV [PAIRS]      (default 3 pairs)
# Builds BASE_REV (Release) in a temporary worktree beside this checkout's own Release build, then for each pair runs,
# base first, then this checkout:
#   1. `embed bench train` through a standalone silo on 127.0.0.1 (fresh silo per run; settings RATINGS, USERS, ITEMS,
#      OPTIMIZER, as for tests/bench/standalone-ratio.sh);
#   2. `embed train` of the README's MovieLens command (mf, dim 64, batch 1024, 2 workers, seed 42), embedded;
# and prints samples/s, the ratio head/base, and validation RMSE. With HEAD_WIRE=bf16 each pair also runs this
# checkout's standalone bench with `--wire bf16` (right after its float32 run) against the same base run.
# Needs ../shared/data/movielens. Not part of CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "commit comparison" jq curl git
base="${1:?usage: compare-commits.sh BASE_REV [PAIRS]}"
pairs="${2:-3}"
ratings="${RATINGS:-10000000}" users="${USERS:-100000}" items="${ITEMS:-50000}" optimizer="${OPTIMIZER:-adagrad}"
movielens="${MOVIELENS:-$root/../shared/data/movielens/ml-latest-small}"
[[ -f "$movielens/ratings.csv" ]] || { echo "MovieLens not found at $movielens (set MOVIELENS)"; exit 1; }

tree="$work/base"
git worktree add --detach "$tree" "$base" >/dev/null
trap 'git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || true; cleanup' EXIT
echo "== building $base and this checkout (Release)"
# The console was src/ParameterServer.Worker before it was renamed: build whichever the base commit has.
base_console="src/ParameterServer.Embed"
[[ -d "$tree/$base_console" ]] || base_console="src/ParameterServer.Worker"
dotnet build "$tree/$base_console" -c Release >"$work/build-base.log" 2>&1 || { tail -20 "$work/build-base.log"; exit 1; }
dotnet build "$tree/src/ParameterServer.Silo" -c Release >>"$work/build-base.log" 2>&1 || { tail -20 "$work/build-base.log"; exit 1; }
dotnet build src/ParameterServer.Embed -c Release >"$work/build-head.log" 2>&1 || { tail -20 "$work/build-head.log"; exit 1; }
dotnet build src/ParameterServer.Silo -c Release >>"$work/build-head.log" 2>&1 || { tail -20 "$work/build-head.log"; exit 1; }

# embed_of DIR: the console's dll in the build in DIR (under its old project name in older commits).
embed_of() { if [[ -f "$1/$embed_dll" ]]; then echo "$1/$embed_dll"; else echo "$1/${embed_dll/ParameterServer.Embed/ParameterServer.Worker}"; fi; }

# standalone DIR OUT [ARGS...]: bench train through a fresh silo of the build in DIR.
standalone() {
  local dir="$1" out="$2"
  shift 2
  dotnet "$dir/$silo_dll" --Orleans:SiloPort=11660 --Orleans:GatewayPort=30660 --Http:Port=8660 --Http:Dashboard=false >"$work/silo.log" 2>&1 &
  pids+=($!)
  wait_for "standalone silo ready" 90 curl -sf "http://127.0.0.1:8660/ready" >/dev/null || { cat "$work/silo.log"; exit 1; }
  timeout 900 dotnet "$(embed_of "$dir")" bench train --users "$users" --items "$items" --ratings "$ratings" --optimizer "$optimizer" \
    --json --cluster 127.0.0.1:30660 "$@" >"$out" 2>"$work/bench.err" || { cat "$work/bench.err"; exit 1; }
  kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
}

# movielens DIR OUT: the README's MovieLens job, embedded, with the build in DIR.
movielens_run() {
  timeout 900 dotnet "$(embed_of "$1")" train --ratings "$movielens/ratings.csv" --model mf --dim 64 --batch-size 1024 --workers 2 \
    --validation 0.2 --seed 42 --json >"$2" 2>"$work/train.err" || { cat "$work/train.err"; exit 1; }
}

printf '%-5s %-22s %14s %14s %8s %12s %12s\n' pair run base/s head/s ratio base_rmse head_rmse
for ((p = 1; p <= pairs; p++)); do
  standalone "$tree" "$work/sb.json"; standalone "$root" "$work/sh.json"
  kinds=(s m)
  if [[ -n "${HEAD_WIRE:-}" ]]; then
    standalone "$root" "$work/wh.json" --wire "$HEAD_WIRE"; cp "$work/sb.json" "$work/wb.json"; kinds=(s w m)
  fi
  movielens_run "$tree" "$work/mb.json"; movielens_run "$root" "$work/mh.json"
  for kind in "${kinds[@]}"; do
    b=$(jq .samples_per_second "$work/${kind}b.json") h=$(jq .samples_per_second "$work/${kind}h.json")
    case $kind in s) name="bench train standalone" ;; w) name="standalone --wire ${HEAD_WIRE:-}" ;; *) name="movielens mf embedded" ;; esac
    printf '%-5s %-22s %14.0f %14.0f %8.2f %12.4f %12.4f\n' "$p" "$name" "$b" "$h" "$(jq -n "$h / $b")" \
      "$(jq .validation_rmse "$work/${kind}b.json")" "$(jq .validation_rmse "$work/${kind}h.json")"
  done
done
