# Shared by the system tests (source it): a work directory, processes stopped by PID on exit, bounded waits.
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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
