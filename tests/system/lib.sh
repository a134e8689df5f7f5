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
