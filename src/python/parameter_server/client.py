"""The client: numpy arrays in and out, packed little-endian bytes on the wire, errors as ParameterServerError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import grpc
import numpy as np

from .v1 import parameter_server_pb2 as pb
from .v1 import parameter_server_pb2_grpc as rpc

_OPTIMIZERS = {"sgd": pb.OPTIMIZER_SGD, "adagrad": pb.OPTIMIZER_ADAGRAD, "adam": pb.OPTIMIZER_ADAM}
_INITIALIZERS = {"normal": pb.INITIALIZER_NORMAL, "uniform": pb.INITIALIZER_UNIFORM, "zeros": pb.INITIALIZER_ZEROS}
_METRICS = {"cosine": pb.METRIC_COSINE, "dot": pb.METRIC_DOT, "euclidean": pb.METRIC_EUCLIDEAN}
_OPTIMIZER_NAMES = {v: k for k, v in _OPTIMIZERS.items()}


class ParameterServerError(Exception):
    """A call the server refused or could not answer: the gRPC status code and the server's message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hit:
    """One result of a search or a recommendation."""

    rank: int
    id: int
    score: float
    label: str = ""
    predicted: Optional[float] = None


def _ids(ids) -> bytes:
    a = np.ascontiguousarray(np.asarray(ids, dtype="<i8").reshape(-1))
    return a.tobytes()


def _floats(values, count: Optional[int] = None, what: str = "values") -> bytes:
    a = np.ascontiguousarray(np.asarray(values, dtype="<f4").reshape(-1))
    if count is not None and a.size != count:
        raise ValueError(f"{what}: {a.size} values, expected {count}")
    return a.tobytes()


def _table(t: pb.Table) -> dict:
    return {
        "name": t.name, "dim": t.dim, "shards": t.shards, "optimizer": _OPTIMIZER_NAMES.get(t.optimizer, "adam"),
        "learning_rate": t.learning_rate, "weight_decay": t.weight_decay, "rows": t.rows, "bytes": t.bytes,
        "optimizer_steps": t.optimizer_steps, "metadata": dict(t.metadata),
    }


class ParameterServerClient:
    """A connection to one silo's gRPC API (any silo serves every table)."""

    def __init__(self, target: str = "127.0.0.1:50051", token: Optional[str] = None, timeout: float = 120.0,
                 max_message_bytes: int = 64 << 20):
        options = [("grpc.max_send_message_length", max_message_bytes), ("grpc.max_receive_message_length", max_message_bytes)]
        self._channel = grpc.insecure_channel(target, options=options)
        self._stub = rpc.ParameterServerStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self.target = target

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "ParameterServerClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:  # every RpcError raised by a call is also a grpc.Call
            raise ParameterServerError(e.code(), e.details() or "") from None

    # Tables

    def list_tables(self) -> list[dict]:
        return [_table(t) for t in self._call(self._stub.ListTables, pb.ListTablesRequest()).tables]

    def describe(self, table: str) -> dict:
        return _table(self._call(self._stub.DescribeTable, pb.DescribeTableRequest(table=table)))

    def create_table(self, table: str, dim: int, optimizer: str = "adam", learning_rate: float = 0.001,
                     weight_decay: float = 0.0, initializer: str = "normal", init_scale: float = 0.01, shards: int = 8,
                     seed: int = 42) -> dict:
        """Creates a table, or returns it when it exists with the same spec (ALREADY_EXISTS when the spec differs)."""
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer '{optimizer}': use one of {', '.join(_OPTIMIZERS)}")
        if initializer not in _INITIALIZERS:
            raise ValueError(f"initializer '{initializer}': use one of {', '.join(_INITIALIZERS)}")
        request = pb.CreateTableRequest(table=table, dim=dim, shards=shards, optimizer=_OPTIMIZERS[optimizer],
                                        learning_rate=learning_rate, weight_decay=weight_decay,
                                        initializer=_INITIALIZERS[initializer], init_scale=init_scale, seed=seed)
        return _table(self._call(self._stub.CreateTable, request))

    # Rows

    def lookup(self, table: str, ids) -> tuple[np.ndarray, np.ndarray]:
        """Rows of `ids` ([n, dim] float32) and whether each exists; creates nothing, missing rows are zeros."""
        r = self._call(self._stub.Lookup, pb.LookupRequest(table=table, ids=_ids(ids)))
        values = np.frombuffer(r.values, dtype="<f4").reshape(-1, r.dim)
        return values, np.frombuffer(r.found, dtype=np.uint8).astype(bool)

    def pull(self, table: str, ids) -> np.ndarray:
        """Rows of `ids` ([n, dim] float32), creating the missing ones as the table initializes them."""
        r = self._call(self._stub.Pull, pb.PullRequest(table=table, ids=_ids(ids)))
        return np.frombuffer(r.values, dtype="<f4").reshape(-1, r.dim)

    def push(self, table: str, ids, gradients) -> int:
        """Applies `gradients` ([n, dim]) to the rows of `ids` with the table's optimizer; returns the rows updated."""
        n = np.asarray(ids).size
        g = np.asarray(gradients, dtype="<f4")
        if g.ndim != 2 or g.shape[0] != n:
            raise ValueError(f"gradients of shape {g.shape}: expected ({n}, dim)")
        return self._call(self._stub.Push, pb.PushRequest(table=table, ids=_ids(ids), gradients=_floats(g))).rows

    # Queries

    def search(self, table: str, *, vector=None, key: Optional[int] = None, label: Optional[str] = None, k: int = 10,
               metric: str = "cosine", exclude_self: bool = False, min_updates: int = 0, min_count: int = 0) -> list[Hit]:
        """Top-k rows by cosine, dot or euclidean from a vector, a row's key or its label (exactly one)."""
        given = [x is not None for x in (vector, key, label)]
        if sum(given) != 1:
            raise ValueError("give exactly one of vector, key or label")
        if metric not in _METRICS:
            raise ValueError(f"metric '{metric}': use one of {', '.join(_METRICS)}")
        request = pb.SearchRequest(table=table, k=k, metric=_METRICS[metric], exclude_self=exclude_self, min_updates=min_updates, min_count=min_count)
        if vector is not None:
            request.vector = _floats(vector)
        elif key is not None:
            request.key = int(key)
        else:
            request.label = label
        r = self._call(self._stub.Search, request)
        return [Hit(h.rank, h.id, h.score, h.label) for h in r.hits]

    def recommend(self, table_prefix: str, user: int, k: int = 10, seen: Iterable[int] = (), min_updates: int = 0,
                  min_count: int = 0) -> list[Hit]:
        """Top-k items of a trained rating model (`embed train --table-prefix`) for `user`, with predicted ratings."""
        request = pb.RecommendRequest(table_prefix=table_prefix, user=int(user), k=k, min_updates=min_updates, seen=[int(s) for s in seen], min_count=min_count)
        r = self._call(self._stub.Recommend, request)
        return [Hit(h.rank, h.id, h.score, h.label, p) for h, p in zip(r.hits, r.predicted)]
