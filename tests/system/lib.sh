# Shared by the system tests (source it from the repository root): the built silo and console, a work directory,
# processes stopped by PID on exit, bounded waits, a throwaway Redis.
config="${CONFIGURATION:-Release}"
silo_dll="src/ParameterServer.Silo/bin/$config/net10.0/ParameterServer.Silo.dll"
embed_dll="src/ParameterServer.Embed/bin/$config/net10.0/embed.dll"
work="$(mktemp -d)"
pids=()
cleanup() {
  # Newest first, each waited for: silos leave the cluster while the Redis they started after is still there.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [[ -n "${KEEP_WORK:-}" ]]; then rm -rf "$KEEP_WORK"; cp -r "$work" "$KEEP_WORK"; echo "work directory kept in $KEEP_WORK"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# need TEST TOOL...: fails the test when a tool is missing.
need() {
  local test="$1"; shift
  for tool in "$@"; do command -v "$tool" >/dev/null || { echo "$test needs $tool"; exit 1; }; done
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS > deadline )); then echo "timed out after ${seconds}s waiting for: $what"; return 1; fi
    sleep 0.2
  done
  echo "ok: $what"
}

# start_redis PORT: a Redis on 127.0.0.1:PORT without persistence, stopped on exit.
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_for "redis" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"
}

# start_azurite PORT: Azurite's Blob service on 127.0.0.1:PORT with its data in the work directory, stopped on exit.
# Sets azurite_connection (its well-known development account; the key is public, documented by Microsoft).
start_azurite() {
  local bin
  bin="$(bash tests/system/install-emulators.sh)"
  "$bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$1" --location "$work/azurite" --silent --skipApiVersionCheck --loose \
    >"$work/azurite.log" 2>&1 &
  pids+=($!)
  wait_for "azurite" 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"
  azurite_connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$1/devstoreaccount1;"
}

# start_s3rver PORT: an S3 API server on 127.0.0.1:PORT (credentials S3RVER/S3RVER), data in the work directory;
# ready once it answers HTTP (not only TCP). Its PID is kept in s3rver_pid for ensure_s3rver.
start_s3rver() {
  local bin
  bin="$(bash tests/system/install-emulators.sh)"
  s3rver_port="$1"
  # s3rver signs listing continuation tokens with a cipher that OpenSSL 3 keeps in its legacy provider; an unhandled
  # rejection (a request its client gave up on) must not end the server, as Node 15+ would by default.
  NODE_OPTIONS="--openssl-legacy-provider --unhandled-rejections=warn" "$bin/s3rver" --address 127.0.0.1 --port "$1" --directory "$work/s3rver" --silent \
    >>"$work/s3rver.log" 2>&1 &
  s3rver_pid=$!
  pids+=($s3rver_pid)
  wait_for "s3rver" 60 curl -s -o /dev/null "http://127.0.0.1:$1/"
}

# ensure_s3rver: the emulator is test infrastructure, not what is tested: CI once saw it gone (connection refused,
# nothing in its log) between its start and the silos' first checkpoint. Says so, with its exit status and log, and
# starts it once more; the silos then meet a working store, as they would in production.
ensure_s3rver() {
  [[ -n "${s3rver_pid:-}" ]] || return 0
  kill -0 "$s3rver_pid" 2>/dev/null && return 0
  local status=0
  wait "$s3rver_pid" 2>/dev/null || status=$?
  echo "note: s3rver (pid $s3rver_pid) had exited with status $status; its log:"
  tail -20 "$work/s3rver.log"
  start_s3rver "$s3rver_port"
}
