#!/usr/bin/env bash
# Checks deploy/docker without a Docker engine: each Dockerfile's build stage runs as written (its COPY lists are
# complete for restore and publish, .dockerignore keeps what the build needs), the runtime stage takes its app from
# it, ENTRYPOINT names a published executable (self-contained: run with no DOTNET_ROOT, as in the image),
# the published silo accepts the image's ENV (--check-config) and answers its own HEALTHCHECK command once started,
# and the published console runs its CMD. Bounded: the silo has 60 s to answer and is stopped by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "docker check" python3 curl

image_env() {  # image_env DOCKERFILE: the runtime stage's ENV as KEY=VALUE lines
  python3 -c 'import sys, re; t = open(sys.argv[1]).read().replace("\\\n", " "); last = re.split(r"^FROM ", t, flags=re.M)[-1]
print("\n".join(f"{k}={v}" for l in last.splitlines() if l.startswith("ENV ") for k, v in re.findall(r"(\S+?)=(\S+)", l[4:])))' "$1"
}

python3 tests/deploy/dockerfile_check.py "$root" deploy/docker/silo.Dockerfile "$work/silo" | grep -v '^  ' | tee "$work/silo.log"
silo_out=$(tail -1 "$work/silo.log")
python3 tests/deploy/dockerfile_check.py "$root" deploy/docker/embed.Dockerfile "$work/embed" | grep -v '^  ' | tee "$work/embed.log"
embed_out=$(tail -1 "$work/embed.log")

# The silo image's environment, read by the published silo itself: no key it does not read.
mapfile -t silo_env < <(image_env deploy/docker/silo.Dockerfile)
env -i PATH="$PATH" HOME=/tmp "${silo_env[@]}" "$silo_out/ParameterServer.Silo" --check-config >"$work/check.json"
echo "ok: the published silo reads every key of the image's ENV (${silo_env[*]})"

# Start it as the image would (but on loopback, with a writable checkpoint directory) and run the HEALTHCHECK command.
healthcheck=$(grep -oP '^HEALTHCHECK .*CMD \K\[.*\]' deploy/docker/silo.Dockerfile)
mapfile -t probe < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$healthcheck")
run_env=("${silo_env[@]}" Http__Address=127.0.0.1 Http__Port=8471 Orleans__SiloPort=11471 Orleans__GatewayPort=30471 Checkpoints__Directory="$work/checkpoints")
env -i PATH="$PATH" HOME=/tmp "${run_env[@]}" "$silo_out/ParameterServer.Silo" >"$work/silo-run.log" 2>&1 &
pids+=($!)
probe_cmd=("${probe[@]}")
probe_cmd[0]="$silo_out/$(basename "${probe[0]}")"
wait_for "HEALTHCHECK (${probe[*]})" 60 env -i PATH="$PATH" HOME=/tmp "${run_env[@]}" "${probe_cmd[@]}" \
  || { cat "$work/silo-run.log"; exit 1; }

# The console image's CMD.
cmd=$(grep -oP '^CMD \K\[.*\]' deploy/docker/embed.Dockerfile)
mapfile -t cmd_args < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$cmd")
env -i PATH="$PATH" HOME=/tmp "$embed_out/embed" "${cmd_args[@]}" >/dev/null
echo "ok: the published console runs its CMD (${cmd_args[*]})"
echo "docker checks: 2 images passed, 0 failed"
