#!/usr/bin/env python3
"""Checks the Python client against a running silo and the console's answers (used by python-client.sh).

Usage: python_api_check.py TARGET TOKEN PREFIX QUERY_JSON RECOMMEND_JSON USER ITEM
  QUERY_JSON / RECOMMEND_JSON: `embed query --key ITEM --json` and `embed recommend --user USER --json` of PREFIX.
Checks: Search and Recommend give the console's ids and scores; Lookup gives Pull's rows, reports an unknown id
missing and creates no row; a call without the token is UNAUTHENTICATED; a wrong dim, NaN, oversize request and
unknown table get INVALID_ARGUMENT / RESOURCE_EXHAUSTED / NOT_FOUND and change nothing. Then measures Lookup of
1,024 rows of dim 64: rows/s and bytes per row on the wire. Prints one line per check; exit 1 on the first failure.
"""

import json
import os
import sys
import time

import grpc
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "python"))
from parameter_server import ParameterServerClient, ParameterServerError  # noqa: E402
from parameter_server.v1 import parameter_server_pb2 as pb  # noqa: E402

target, token, prefix, query_json, recommend_json, user, item = sys.argv[1:8]
user, item = int(user), int(item)


def ok(condition, message):
    print(("ok: " if condition else "FAIL: ") + message, flush=True)
    if not condition:
        sys.exit(1)


def refused(call, code):
    try:
        call()
    except ParameterServerError as e:
        return e if e.code == code else ok(False, f"expected {code.name}, got {e}")
    ok(False, f"expected {code.name}, the call succeeded")


ps = ParameterServerClient(target, token=token)

# Search and Recommend answer what the console answers.
console = json.load(open(query_json))
hits = ps.search(f"{prefix}.items", key=item, k=len(console["hits"]), metric=console["metric"])
ok([h.id for h in hits] == [h["id"] for h in console["hits"]]
   and all(abs(h.score - c["score"]) < 1e-5 for h, c in zip(hits, console["hits"])),
   f"Search by key {item} of {prefix}.items: the console's {len(hits)} ids and scores")
console = json.load(open(recommend_json))
rec = ps.recommend(prefix, user, k=len(console["items"]))
ok([h.id for h in rec] == [c["id"] for c in console["items"]]
   and all(abs(h.predicted - c["predicted"]) < 1e-5 for h, c in zip(rec, console["items"])),
   f"Recommend for user {user}: the console's {len(rec)} items and predicted ratings")

# Lookup reads what Pull reads, creates nothing, reports an unknown id missing.
table = f"{prefix}.users"
before = ps.describe(table)["rows"]
values, found = ps.lookup(table, [user, 2 ** 62])
pulled = ps.pull(table, [user])
ok(found.tolist() == [True, False] and np.array_equal(values[0], pulled[0]) and not values[1].any(),
   "Lookup: a known row as Pull reads it, an unknown one missing and zeros")
ok(ps.describe(table)["rows"] == before, f"Lookup created no row ({before} rows before and after)")

# Authentication and bad requests.
e = refused(lambda: ParameterServerClient(target).list_tables(), grpc.StatusCode.UNAUTHENTICATED)
ok(token not in str(e), f"a call without the token: UNAUTHENTICATED ({e.message})")
dim = ps.describe(table)["dim"]
row_before, _ = ps.lookup(table, [user])
e = refused(lambda: ps._call(ps._stub.Push, pb.PushRequest(table=table, ids=np.array([user], "<i8").tobytes(),
                                                          gradients=np.zeros(dim + 1, "<f4").tobytes())), grpc.StatusCode.INVALID_ARGUMENT)
ok("float32" in e.message, f"a push of the wrong dim: INVALID_ARGUMENT ({e.message[:90]}...)")
g = np.zeros((1, dim), np.float32)
g[0, 3] = np.nan
e = refused(lambda: ps.push(table, [user], g), grpc.StatusCode.INVALID_ARGUMENT)
ok("NaN" in e.message, f"a NaN gradient: INVALID_ARGUMENT ({e.message[:90]}...)")
e = refused(lambda: ps.pull(table, np.arange(70_000)), grpc.StatusCode.RESOURCE_EXHAUSTED)
ok("Grpc:MaxIds" in e.message, f"70,000 ids: RESOURCE_EXHAUSTED ({e.message})")
e = refused(lambda: ps.lookup("no.such.table", [1]), grpc.StatusCode.NOT_FOUND)
ok("Unknown table 'no.such.table'" in e.message, "an unknown table: NOT_FOUND")
row_after, _ = ps.lookup(table, [user])
ok(np.array_equal(row_before, row_after) and ps.describe(table)["rows"] == before, "the refused calls changed no row and created none")

# Lookup throughput and bytes on the wire: 1,024 rows of dim 64.
name = "python-check.lookup64"
ps.create_table(name, 64)
ids = np.arange(1024, dtype=np.int64) * 7919
ps.pull(name, ids)
request = pb.LookupRequest(table=name, ids=ids.astype("<i8").tobytes())
response = ps._call(ps._stub.Lookup, request)
per_row = (request.ByteSize() + response.ByteSize()) / len(ids)
calls, start = 0, time.perf_counter()
while time.perf_counter() - start < 3.0:
    ps.lookup(name, ids)
    calls += 1
seconds = time.perf_counter() - start
print(f"lookup 1024 x 64 from Python: {calls * len(ids) / seconds:,.0f} rows/s, {seconds / calls * 1000:.2f} ms per call, "
      f"{per_row:.1f} bytes per row on the wire (request + response protobuf; bound 4 x 64 + 32 = 288)", flush=True)
ok(per_row <= 4 * 64 + 32, f"bytes per row {per_row:.1f} <= 288")
