#!/usr/bin/env bash
# System test of the gRPC API and its Python client: a standalone silo serving the API with a bearer token; the
# PyTorch example (src/python/examples/movielens_mf.py) trains mf on MovieLens through it, and `embed train` trains
# the same model on the same silo; their validation RMSEs must agree within 0.02. Then python_api_check.py compares
# Search and Recommend from Python with `embed query`/`embed recommend`, checks Lookup, authentication and bad
# requests, and measures Lookup throughput. Bounded: every wait has a deadline; the silo is stopped by PID.
# Needs Python 3 with grpcio, protobuf, numpy and torch (Debian: python3-grpcio python3-protobuf python3-numpy
# python3-torch), jq, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "python client test" jq curl
python=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import grpc, google.protobuf, numpy, torch' 2>/dev/null; then python=$p; break; fi
done
[[ -n $python ]] || { echo "python client test needs Python 3 with grpcio, protobuf, numpy and torch (Debian: python3-grpcio python3-protobuf python3-numpy python3-torch)"; exit 1; }
ratings="$root/../shared/data/movielens/ml-latest-small/ratings.csv"
[[ -f $ratings ]] || { echo "missing $ratings"; exit 1; }
token="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
export PS_TOKEN="$token"

Grpc__Token="$token" dotnet "$silo_dll" --Orleans:SiloPort=11720 --Orleans:GatewayPort=30720 --Http:Port=8720 --Grpc:Port=50720 \
  --Http:Dashboard=false >"$work/silo.log" 2>&1 &
pids+=($!)
wait_for "silo ready" 60 curl -sf http://127.0.0.1:8720/ready || { cat "$work/silo.log"; exit 1; }
grep -q "gRPC API on 127.0.0.1:50720 (bearer token)" "$work/silo.log" || { echo "the silo does not announce its API:"; cat "$work/silo.log"; exit 1; }
! grep -q "$token" "$work/silo.log" || { echo "the token reached the silo's log"; exit 1; }

epochs="${EPOCHS:-10}"
timeout 600 dotnet "$embed_dll" train --cluster 127.0.0.1:30720 --ratings "$ratings" --model mf --dim 32 --epochs "$epochs" --patience 100 \
  --lr 0.05 --weight-decay 0.25 --seed 5 --table-prefix console-mf --report "$work/console.json" >"$work/console.txt" 2>&1 \
  || { cat "$work/console.txt"; exit 1; }
tail -1 "$work/console.txt"
timeout 900 "$python" src/python/examples/movielens_mf.py --target 127.0.0.1:50720 --ratings "$ratings" --dim 32 --epochs "$epochs" \
  --lr 0.05 --weight-decay 0.25 --seed 5 --table-prefix torch-mf --report "$work/python.json" | tee "$work/python.txt" | tail -2
console=$(jq -r .validation_rmse "$work/console.json")
python_rmse=$(jq -r .validation_rmse "$work/python.json")
diff=$(awk -v a="$console" -v b="$python_rmse" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", d }')
echo "validation RMSE: embed train $console, PyTorch through the API $python_rmse (difference $diff)"
awk -v d="$diff" 'BEGIN { exit !(d <= 0.02) }' || { echo "the RMSEs differ by more than 0.02"; exit 1; }

user=1
item=$(awk -F, 'NR == 2 { print $2 }' "$ratings")
dotnet "$embed_dll" query --cluster 127.0.0.1:30720 --table console-mf.items --key "$item" --top 10 --min-ratings 0 --json >"$work/query.json"
dotnet "$embed_dll" recommend --cluster 127.0.0.1:30720 --table-prefix console-mf --user "$user" --top 10 --min-ratings 0 --json >"$work/recommend.json"
"$python" tests/system/python_api_check.py 127.0.0.1:50720 "$token" console-mf "$work/query.json" "$work/recommend.json" "$user" "$item"
curl -sf http://127.0.0.1:8720/metrics >"$work/metrics.txt"
for method in Lookup Pull Push Search Recommend; do
  grep -qE "^ps_api_requests_total\{.*rpc_method=\"$method\"" "$work/metrics.txt" || { echo "no ps_api_requests_total for $method on /metrics"; exit 1; }
done
grep -E '^ps_api_(requests_total|payload_bytes_total)\{.*rpc_method="Lookup"' "$work/metrics.txt"
# The API's Grafana dashboard references only metrics this silo exports (histograms as _bucket/_sum/_count).
sed -nE 's/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{| ).*/\1/p' "$work/metrics.txt" | sort -u >"$work/names.txt"
DASHBOARDS=api.json bash tests/system/dashboard-metrics.sh "$work/names.txt"
echo "python client system test: 1 passed, 0 failed"
