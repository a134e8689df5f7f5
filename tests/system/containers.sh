#!/usr/bin/env bash
# System test of the images with a real Docker engine: builds deploy/docker/silo.Dockerfile and embed.Dockerfile,
# runs Redis and three silo containers (host network on loopback ports, read-only root, the image's own user and
# HEALTHCHECK, one checkpoint directory shared as a Kubernetes RWX volume would be), trains a job from the host
# against them, stops one silo with `docker stop` (SIGTERM: it hands its shards over and exits 0) and kills another
# with `docker kill` (SIGKILL: its shards come back from checkpoints), and the job must complete; then the console
# image lists the tables. No registry is reachable here, so the base image is built with debootstrap (Debian
# bookworm with .NET's native dependencies and redis-server) and imported, and the apps are published
# self-contained on the host and passed to the Dockerfiles as PUBLISHED images (their build stages are checked by
# tests/deploy/docker-check.sh). Bounded: every wait has a deadline; every container, dockerd and containerd, and
# the engine's data are removed at the end. Needs docker.io (dockerd), debootstrap, curl, jq, root (or sudo -n).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "container test" dockerd debootstrap curl jq tar
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo -n"
# The engine's own client: BuildKit is built into it (newer clients need the buildx plugin for it).
cli=/usr/bin/docker
[[ -x $cli ]] || cli=$(command -v docker)
export DOCKER_HOST="unix://$work/docker.sock"
docker() { $sudo env DOCKER_HOST="$DOCKER_HOST" "$cli" "$@"; }
redis_port=6395
cluster_id=containers

containers=()
engine_down() {
  if [[ -S $work/docker.sock ]]; then
    for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  fi
  if [[ -f $work/dockerd.pid ]]; then
    local pid containerd
    pid=$(cat "$work/dockerd.pid")
    containerd=$(pgrep -P "$pid" containerd || true)
    $sudo kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do $sudo kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [[ -n $containerd ]] && { $sudo kill "$containerd" 2>/dev/null || true; }
  fi
  # dockerd bind-mounts its network namespace file under the exec root; it outlives the daemon.
  awk -v dir="$work/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do $sudo umount -l "$m" || true; done
  $sudo rm -rf "$work/docker" "$work/rootfs" "$work/exec"
  cleanup
}
trap engine_down EXIT

echo "== engine: dockerd with the vfs driver and no bridge network (containers use the host's loopback)"
$sudo dockerd --storage-driver=vfs --bridge=none --iptables=false --ip-masq=false --data-root "$work/docker" \
  --exec-root "$work/exec" --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 &
wait_for "dockerd" 60 docker info || { cat "$work/dockerd.log"; exit 1; }

echo "== base image: debootstrap bookworm with .NET's native dependencies and redis-server"
start=$SECONDS
$sudo debootstrap --variant=minbase --include=libicu72,libssl3,ca-certificates,tzdata,zlib1g,redis-server \
  bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
$sudo tar -C "$work/rootfs" -c . | docker import - ps-test-base:bookworm >/dev/null
echo "ok: base image in $((SECONDS - start)) s"

echo "== images: self-contained publish on the host, then docker build with the repository's Dockerfiles"
for app in silo embed; do
  project=src/ParameterServer.Silo/ParameterServer.Silo.csproj
  [[ $app == embed ]] && project=src/ParameterServer.Embed/ParameterServer.Embed.csproj
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -o "$work/publish/out" -v quiet -nologo >"$work/publish-$app.log" 2>&1 \
    || { cat "$work/publish-$app.log"; exit 1; }
  tar -C "$work/publish" -c out | docker import - "ps-test-published-$app:ci" >/dev/null
  rm -rf "$work/publish"
  DOCKER_BUILDKIT=1 docker build --network host -f "deploy/docker/$app.Dockerfile" --build-arg RUNTIME_IMAGE=ps-test-base:bookworm \
    --build-arg PUBLISHED="ps-test-published-$app:ci" -t "parameter-server-$app:ci" . >"$work/build-$app.log" 2>&1 \
    || { cat "$work/build-$app.log"; exit 1; }
  echo "ok: parameter-server-$app:ci built ($(docker image inspect "parameter-server-$app:ci" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}'))"
done

echo "== containers: Redis and three silos, read-only, as the images' user"
docker run -d --name ps-test-redis --network host --read-only --tmpfs /tmp --user 10001:10001 ps-test-base:bookworm \
  redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no --dir /tmp >/dev/null
containers+=(ps-test-redis)
wait_for "redis container" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_port"
mkdir -p "$work/checkpoints" && $sudo chown 10001:10001 "$work/checkpoints"
for n in 1 2 3; do
  docker run -d --name "ps-test-silo-$n" --network host --read-only --tmpfs /tmp --health-interval 2s \
    -e Orleans__Clustering__ProviderType=Redis -e Orleans__Clustering__ConnectionString=127.0.0.1:$redis_port \
    -e Orleans__ClusterId=$cluster_id -e Orleans__SiloPort=$((11510 + n)) -e Orleans__GatewayPort=$((30510 + n)) \
    -e Http__Address=127.0.0.1 -e Http__Port=$((8510 + n)) -e Orleans__AdvertisedIP=127.0.0.1 -e Orleans__ListenOnAnyHostAddress=false \
    -e Orleans__Membership__ProbeTimeout=00:00:01 -e Orleans__Membership__NumMissedProbesLimit=2 \
    -e Orleans__Membership__NumVotesForDeathDeclaration=1 -e Orleans__Membership__DeadSiloLease=00:00:05 \
    -e Checkpoints__Interval=00:00:01 -e Orleans__Messaging__ResponseTimeout=00:00:05 \
    -v "$work/checkpoints:/checkpoints" "parameter-server-silo:ci" >/dev/null
  containers+=("ps-test-silo-$n")
done
for n in 1 2 3; do
  wait_for "silo $n healthy (the image's HEALTHCHECK)" 120 bash -c "[[ \$($sudo env DOCKER_HOST=$DOCKER_HOST $cli inspect -f '{{.State.Health.Status}}' ps-test-silo-$n) == healthy ]]" \
    || { docker logs "ps-test-silo-$n" 2>&1 | tail -20; exit 1; }
  wait_for "silo $n ready" 60 curl -sf "http://127.0.0.1:$((8510 + n))/ready"
done
for n in 1 2 3; do
  read -r user readonly < <(docker inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "ps-test-silo-$n")
  uid=$(docker exec "ps-test-silo-$n" id -u)
  [[ $user == 10001:10001 && $readonly == true && $uid == 10001 ]] || { echo "silo $n runs as $user (uid $uid), read-only $readonly"; exit 1; }
done
echo "ok: three silos run read-only as uid 10001, healthy and ready"

echo "== a job from the host: docker stop (SIGTERM) on silo 2 after epoch 2, docker kill on silo 3 after epoch 4"
dotnet "$embed_dll" generate --out "$work/ratings.csv" --users 2000 --items 1000 --ratings 300000 --seed 17 >/dev/null
Orleans__ClusterId=$cluster_id Orleans__Messaging__ResponseTimeout=00:00:05 timeout 600 dotnet "$embed_dll" train \
  --cluster "redis://127.0.0.1:$redis_port" --ratings "$work/ratings.csv" --model mf --dim 16 --epochs 10 --patience 100 \
  --lr 0.005 --weight-decay 0.05 --workers 2 --seed 5 --table-prefix job --report "$work/report.json" >"$work/train.txt" 2>&1 &
train_pid=$!
pids+=($train_pid)
wait_for "second epoch" 300 grep -qE '^ *2(/[0-9]+)? ' "$work/train.txt" || { cat "$work/train.txt"; exit 1; }
docker stop -t 100 ps-test-silo-2 >/dev/null
echo "silo 2 stopped by docker stop: exit code $(docker inspect -f '{{.State.ExitCode}}' ps-test-silo-2)"
wait_for "fourth epoch" 300 grep -qE '^ *4(/[0-9]+)? ' "$work/train.txt" || { cat "$work/train.txt"; exit 1; }
docker kill ps-test-silo-3 >/dev/null
echo "silo 3 killed by docker kill: exit code $(docker inspect -f '{{.State.ExitCode}}' ps-test-silo-3)"
if ! wait "$train_pid"; then echo "the job failed:"; cat "$work/train.txt"; exit 1; fi
tail -3 "$work/train.txt"
stopped=$(docker inspect -f '{{.State.ExitCode}}' ps-test-silo-2)
[[ $stopped == 0 ]] || { echo "silo 2 exited $stopped after SIGTERM (expected 0)"; docker logs ps-test-silo-2 2>&1 | tail -20; exit 1; }
rmse=$(jq -r .validation_rmse "$work/report.json")
echo "job completed: validation RMSE $rmse, retries $(jq -r .retries "$work/report.json"), updates lost $(jq -r .updates_lost "$work/report.json")"
awk -v r="$rmse" 'BEGIN { exit !(r < 0.6) }' || { echo "validation RMSE $rmse: the job did not train (noise is 0.5)"; exit 1; }

echo "== the console image against the surviving silo"
docker run --rm --network host --read-only --tmpfs /tmp -e Orleans__ClusterId=$cluster_id "parameter-server-embed:ci" \
  tables list --cluster "redis://127.0.0.1:$redis_port" >"$work/tables.txt" 2>&1 || { cat "$work/tables.txt"; exit 1; }
grep -q "job.users" "$work/tables.txt" || { echo "the console image did not list the job's tables:"; cat "$work/tables.txt"; exit 1; }
echo "ok: the console image lists $(grep -c 'job\.' "$work/tables.txt") tables of the job"
echo "container system test: 1 passed, 0 failed"
