#!/usr/bin/env bash
# System test: embed import of a generated word2vec text file into a standalone silo, embed export --format npy, and
# NumPy reading what was written: dtype, shape and every value of NAME.npy against the original file, the ids file
# in the same row order as the labels (each id the stable hash of its word), and bad input refused with exit code 2.
# Import and export are separate processes, so they share the standalone silo (ports 11480/30480/8480), stopped by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
gateway="${GATEWAY_PORT:-30480}"
silo_port="${SILO_PORT:-11480}"
http_port="${HTTP_PORT:-8480}"
# shellcheck source=tests/system/lib.sh
source "$root/tests/system/lib.sh"
need "export-npy" python3

# NumPy from Debian's python3-numpy lives with /usr/bin/python3, which another python3 on PATH may shadow.
py=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import numpy' 2>/dev/null; then py="$candidate"; break; fi
done
[[ -n "$py" ]] || { echo "export-npy needs NumPy (Debian: python3-numpy)"; exit 1; }

log="$work/silo.log"
dotnet "$silo_dll" --Orleans:ClusterId=export-npy --Orleans:SiloPort="$silo_port" --Orleans:GatewayPort="$gateway" --Http:Port="$http_port" --Http:Dashboard=false >"$log" 2>&1 &
silo_pid=$!
pids+=($silo_pid)
wait_for "silo gateway port $gateway" 60 bash -c "kill -0 $silo_pid && exec 3<>/dev/tcp/127.0.0.1/$gateway" || { cat "$log"; exit 1; }
cluster="localhost:$gateway"
export Orleans__ClusterId=export-npy
embed() { timeout 120 dotnet "$embed_dll" "$@"; }

# 3,000 distinct words (ASCII, accents, Cyrillic, CJK, emoji) with float32 values of every magnitude, each written
# with 9 significant digits so that any correct parser gets back the same float32.
"$py" - "$work/vectors.txt" <<'PY'
import random, sys
import numpy as np
rng = random.Random(7)
glyphs = list("abcdefghijklmnopqrstuvwxyz") + ["é", "ß", "ж", "я", "猫", "語", "😀", "🚀", "-", "'"]
words, seen = [], set()
while len(words) < 3000:
    w = "".join(rng.choice(glyphs) for _ in range(rng.randint(1, 10)))
    if w not in seen:
        seen.add(w)
        words.append(w)
values = (np.random.default_rng(7).standard_normal((3000, 16)) * 10.0 ** np.random.default_rng(8).integers(-20, 20, (3000, 16))).astype(np.float32)
with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
    f.write("3000 16\n")
    for w, row in zip(words, values):
        f.write(w + " " + " ".join("%.9g" % float(v) for v in row) + "\n")
PY

embed import --format word2vec-text --file "$work/vectors.txt" --table sys.words --shards 4 --cluster "$cluster" | tee "$work/import.txt"
grep -q "import: 3,000 rows of dim 16 into new table sys.words" "$work/import.txt"
embed export --table sys.words --format npy --out "$work/out" --cluster "$cluster" | tee "$work/export.txt"
grep -q "export: 3,000 rows of dim 16 from sys.words" "$work/export.txt"
if compgen -G "$work/out/*.partial" >/dev/null; then echo "temporary files left behind"; exit 1; fi

"$py" - "$work/vectors.txt" "$work/out" <<'PY'
import sys
import numpy as np
source, out = sys.argv[1], sys.argv[2]

def stable_hash(text):
    # FNV-1a 64 over UTF-8, then the SplitMix64 finalizer (ParameterServer.Core.Hashing.StableHash), as int64.
    mask = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & mask
    h ^= h >> 30; h = (h * 0xBF58476D1CE4E5B9) & mask
    h ^= h >> 27; h = (h * 0x94D049BB133111EB) & mask
    h ^= h >> 31
    return h - (1 << 64) if h >= 1 << 63 else h

with open(source, encoding="utf-8") as f:
    count, dim = map(int, f.readline().split())
    original = {}
    for line in f:
        word, *vals = line.rstrip("\n").split(" ")
        original[word] = np.array([np.float32(v) for v in vals], dtype=np.float32)

with open(f"{out}/sys.words.npy", "rb") as f:
    head = f.read(10)
    assert head[:8] == b"\x93NUMPY\x01\x00", head
    offset = 10 + int.from_bytes(head[8:10], "little")
    assert offset % 64 == 0, offset

vectors = np.load(f"{out}/sys.words.npy", allow_pickle=False)
ids = np.load(f"{out}/sys.words.ids.npy", allow_pickle=False)
with open(f"{out}/sys.words.labels.txt", encoding="utf-8") as f:
    labels = f.read().split("\n")[:-1]

assert vectors.dtype == np.dtype("<f4"), vectors.dtype
assert vectors.shape == (count, dim) == (3000, 16), vectors.shape
assert not np.isfortran(vectors)
assert ids.dtype == np.dtype("<i8") and ids.shape == (count,), (ids.dtype, ids.shape)
assert len(labels) == count and set(labels) == set(original), "labels differ from the words of the file"
assert len(set(ids.tolist())) == count, "repeated ids"
for i, (word, row_id) in enumerate(zip(labels, ids.tolist())):
    assert row_id == stable_hash(word), f"row {i}: id {row_id} is not the hash of {word!r}"
    assert np.array_equal(vectors[i].view(np.uint32), original[word].view(np.uint32)), f"row {i} ({word!r}) differs"
print(f"numpy {np.__version__}: {count} x {dim} float32, ids and labels in the same order, every value equal to the file")
PY

# Bad input: exit code 2 with an error line, and nothing created.
expect_refused() {
  local what="$1"; shift
  set +e
  timeout 120 dotnet "$embed_dll" "$@" >"$work/bad.txt" 2>&1
  local rc=$?
  set -e
  cat "$work/bad.txt"
  if [[ $rc -ne 2 ]] || ! grep -q '^error: ' "$work/bad.txt"; then echo "$what: expected exit 2 with an error, got $rc"; exit 1; fi
}
expect_refused "export of an unknown table" export --table no.such.table --format npy --out "$work/out2" --cluster "$cluster"
[[ ! -e "$work/out2" ]] || { echo "export of an unknown table created $work/out2"; exit 1; }
awk 'NR == 1501 { print "broken 1 2 3"; next } { print }' "$work/vectors.txt" >"$work/bad-vectors.txt"
expect_refused "malformed vector file" import --format word2vec-text --file "$work/bad-vectors.txt" --table sys.bad --cluster "$cluster"
grep -q "bad-vectors.txt:1501: expected the word and 16 values, found 3 values" "$work/bad.txt"
sed -n '2,21p' "$work/vectors.txt" | cut -d ' ' -f 1-5 >"$work/dim4.txt"
expect_refused "another dim into an existing table" import --format glove --file "$work/dim4.txt" --table sys.words --cluster "$cluster"
grep -q "already exists with dim 16, but .*dim4.txt holds vectors of dim 4. Nothing was written" "$work/bad.txt"
embed tables list --cluster "$cluster" | tee "$work/tables.txt"
if grep -q "sys.bad" "$work/tables.txt"; then echo "a refused import created its table"; exit 1; fi
grep -qE "^sys.words +16 +4 +3,000 " "$work/tables.txt"
echo "export-npy system test: 1 passed, 0 failed"
