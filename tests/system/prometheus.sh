#!/usr/bin/env bash
# System test: a silo process, a training job (worker) with its Prometheus listener, `embed watch` in another
# process, and a real Prometheus scraping both with the repository's config (ports adapted). Passes when
# PromQL sees pulled rows and trained samples, every metric named by the Grafana dashboards was scraped, the
# health endpoints and the dashboard answer, and the watcher printed the job's events.
# A link job of two worker processes must get its validation AUC to Prometheus too.
# Bounded: every wait has a deadline; every process is stopped by PID on exit. Needs prometheus, curl, jq.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
ratings="${RATINGS:-$root/../shared/data/movielens/ml-latest-small/ratings.csv}"
silo_port=11190 gateway=30190 http=8190 worker_metrics=9590 prom_port=9190
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "prometheus system test" prometheus curl jq

dotnet "$silo_dll" --Orleans:SiloPort=$silo_port --Orleans:GatewayPort=$gateway --Http:Port=$http >"$work/silo.log" 2>&1 &
pids+=($!)
wait_for "silo /ready" 60 curl -sf "http://127.0.0.1:$http/ready" || { cat "$work/silo.log"; exit 1; }
curl -sf "http://127.0.0.1:$http/healthz" | grep -q ok
curl -sf "http://127.0.0.1:$http/dashboard/" | grep -q "<title>Orleans Dashboard</title>"
echo "ok: /healthz, /ready and /dashboard answer"

sed -e "s/127.0.0.1:8080/127.0.0.1:$http/" -e "s/127.0.0.1:9464/127.0.0.1:$worker_metrics/" \
    -e "s/scrape_interval: 5s/scrape_interval: 1s/" -e "s/scrape_timeout: 5s/scrape_timeout: 1s/" \
    deploy/prometheus/prometheus.yml >"$work/prometheus.yml"
grep -q "127.0.0.1:$http" "$work/prometheus.yml" && grep -q "127.0.0.1:$worker_metrics" "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_for "prometheus ready" 60 curl -sf "$prom/-/ready" || { cat "$work/prometheus.log"; exit 1; }

cluster="127.0.0.1:$gateway"
dotnet "$embed_dll" watch --cluster "$cluster" --job promtest --timeout 240 >"$work/watch.txt" 2>&1 &
watch_pid=$!
pids+=($watch_pid)
wait_for "watcher subscribed" 60 grep -q "watching job promtest" "$work/watch.txt"

# 40 epochs (several seconds) so Prometheus, scraping every second, sees the counters rise; the job keeps its
# listener up for a while after it ends, so the last values are scraped.
dotnet "$embed_dll" train --cluster "$cluster" --ratings "$ratings" --epochs "${EPOCHS:-40}" --patience 1000 --table-prefix promtest \
  --metrics-port $worker_metrics --metrics-linger 20 >"$work/train.txt" 2>&1 &
train_pid=$!
pids+=($train_pid)

query() { curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" | jq -e '.data.result | length > 0'; }
diagnose() { echo "--- train"; cat "$work/train.txt"; echo "--- silo"; tail -20 "$work/silo.log"; echo "--- prometheus targets"; curl -s "$prom/api/v1/targets" | jq -c '.data.activeTargets[] | {scrapeUrl, health, lastError}'; }
wait_for "PromQL sum(rate(ps_rows_pulled_total[30s])) > 0" 120 query 'sum(rate(ps_rows_pulled_total[30s])) > 0' || { diagnose; exit 1; }
wait_for "PromQL ps_training_samples_total from the worker" 120 query 'sum(ps_training_samples_total{job="parameter-server-workers"}) > 0' || { diagnose; exit 1; }
wait_for "training finished" 300 grep -q "best epoch" "$work/train.txt" || { cat "$work/train.txt"; exit 1; }
timeout 60 dotnet "$embed_dll" query --cluster "$cluster" --table promtest.items --key 1 -k 5 >/dev/null
wait_for "PromQL ps_queries_total" 60 query 'sum(ps_queries_total) > 0'
wait_for "PromQL ps_training_validation_rmse" 60 query 'ps_training_validation_rmse{ps_job="promtest"}'
wait "$train_pid"

# A link job of two worker processes (movies and their genres): the first serves the metrics port Prometheus
# scrapes, and each epoch's validation AUC must reach Prometheus.
movies="$(dirname "$ratings")/movies.csv"
for i in 0 1; do
  metrics=(); [[ $i == 0 ]] && metrics=(--metrics-port $worker_metrics --metrics-linger 10)
  dotnet "$embed_dll" train --model link --cluster "$cluster" --pairs "$movies" --entity-column movieId --link-column genres \
    --link-separator '|' --dim 8 --epochs 10 --patience 100 --validation 0.1 --table-prefix promlink --worker-count 2 --worker-index $i \
    "${metrics[@]}" >"$work/link-$i.txt" 2>&1 &
  link_pid[$i]=$!
  pids+=(${link_pid[$i]})
done
wait_for "PromQL ps_training_validation_auc of the link job" 120 query 'ps_training_validation_auc{ps_job="promlink"} > 0.5' || { cat "$work"/link-*.txt; exit 1; }
for i in 0 1; do wait "${link_pid[$i]}" || { cat "$work/link-$i.txt"; exit 1; }; done
grep -h "best epoch" "$work"/link-*.txt

# Every metric a Grafana panel asks for must have been scraped from the silo or the worker.
# The gRPC API's dashboard needs a silo serving the API: tests/system/python-client.sh checks it.
export SKIP_DASHBOARDS=api.json
names() { curl -sf "$prom/api/v1/label/__name__/values" | jq -r '.data[]' >"$work/names.txt"; bash tests/system/dashboard-metrics.sh "$work/names.txt"; }
wait_for "every dashboard metric scraped" 60 names || { names || true; exit 1; }
bash tests/system/dashboard-metrics.sh "$work/names.txt" | tail -1

wait_for "watcher saw the job finish" 60 grep -q "promtest: finished" "$work/watch.txt" || { cat "$work/watch.txt"; exit 1; }
epochs=$(grep -c "promtest: epoch" "$work/watch.txt")
echo "ok: embed watch (another process) printed $epochs epoch events and the finish"
cat "$work/watch.txt"
wait "$watch_pid"
echo "prometheus system test: 1 passed, 0 failed"
