#!/usr/bin/env bash
# Installs the storage emulators the object-store checkpoint tests run against, from the npm registry, into
# ${TOOLS_DIR:-<repo>/.tools}/emulators (ignored by git): Azurite (Azure Blob) and s3rver (the S3 API). Versions are
# pinned; a second run with both present does nothing. Prints the directory of their programs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${TOOLS_DIR:-$root/.tools}/emulators"
bin="$dir/node_modules/.bin"
if [[ ! -x "$bin/azurite-blob" || ! -x "$bin/s3rver" ]]; then
  command -v npm >/dev/null || { echo "installing the storage emulators needs npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir"
  echo "== installing azurite 3.35.0 and s3rver 3.7.1 into $dir" >&2
  npm install --prefix "$dir" --no-audit --no-fund --silent --no-save azurite@3.35.0 s3rver@3.7.1 >&2
fi
echo "$bin"
