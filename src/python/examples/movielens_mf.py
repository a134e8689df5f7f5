#!/usr/bin/env python3
"""Matrix factorization on MovieLens in PyTorch, its embedding rows held by the parameter server.

The model is `embed train --model mf`'s: rating = mean + b_u + b_i + u.v. Each step pulls the batch's rows
(RemoteEmbedding), computes the loss 1/2 sum (pred - y)^2 and its gradients in PyTorch, and pushes the row
gradients; the tables' optimizer (Adagrad by default) and weight decay run on the server, as for `embed train`.
Validation RMSE (predictions clipped to the ratings' range) reads the rows with Lookup, which creates none.

    python3 examples/movielens_mf.py --target 127.0.0.1:50051 --token "$TOKEN" \\
        --ratings ../shared/data/movielens/ml-latest-small/ratings.csv --epochs 10 --report report.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from parameter_server import ParameterServerClient  # noqa: E402
from parameter_server.torch import RemoteEmbedding  # noqa: E402


def read_ratings(path):
    data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(0, 1, 2), dtype=np.float64)
    if data.ndim != 2 or data.shape[0] == 0:
        sys.exit(f"error: {path} holds no userId,movieId,rating rows")
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2].astype(np.float32)


class RemoteMf(torch.nn.Module):
    """mean + b_u + b_i + u.v, every row in the parameter server."""

    def __init__(self, ps, prefix, mean):
        super().__init__()
        self.users = RemoteEmbedding(ps, f"{prefix}.users")
        self.items = RemoteEmbedding(ps, f"{prefix}.items")
        self.user_bias = RemoteEmbedding(ps, f"{prefix}.user_bias")
        self.item_bias = RemoteEmbedding(ps, f"{prefix}.item_bias")
        self.mean = mean

    def forward(self, u, i):
        return self.mean + self.user_bias(u)[:, 0] + self.item_bias(i)[:, 0] + (self.users(u) * self.items(i)).sum(dim=1)

    def push(self):
        return sum(e.push() for e in (self.users, self.items, self.user_bias, self.item_bias))


def validation_rmse(ps, prefix, mean, users, items, ratings, lo, hi, batch=8192):
    """RMSE on the held-out ratings, reading rows with Lookup (no row is created; an unseen row counts as zeros)."""
    se = 0.0
    for s in range(0, len(ratings), batch):
        u, i, y = users[s:s + batch], items[s:s + batch], ratings[s:s + batch]
        uv, _ = ps.lookup(f"{prefix}.users", u)
        iv, _ = ps.lookup(f"{prefix}.items", i)
        ub, _ = ps.lookup(f"{prefix}.user_bias", u)
        ib, _ = ps.lookup(f"{prefix}.item_bias", i)
        pred = np.clip(mean + ub[:, 0] + ib[:, 0] + (uv * iv).sum(axis=1), lo, hi)
        se += float(((pred - y) ** 2).sum())
    return (se / len(ratings)) ** 0.5


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default="127.0.0.1:50051", help="host:port of a silo's gRPC API")
    p.add_argument("--token", default=os.environ.get("PS_TOKEN"), help="bearer token (default: $PS_TOKEN)")
    p.add_argument("--ratings", required=True, help="ratings.csv (userId,movieId,rating,...)")
    p.add_argument("--table-prefix", default="torch-mf")
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--lr", type=float, default=0.05, help="Adagrad learning rate (the tables' optimizer)")
    p.add_argument("--weight-decay", type=float, default=0.25)
    p.add_argument("--init-scale", type=float, default=0.1)
    p.add_argument("--validation", type=float, default=0.2, help="share of ratings held out")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--report", help="write the figures as JSON here")
    a = p.parse_args()

    users, items, ratings = read_ratings(a.ratings)
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(ratings))
    cut = int(len(ratings) * (1 - a.validation))
    train, valid = order[:cut], order[cut:]
    mean = float(ratings[train].mean())
    lo, hi = float(ratings.min()), float(ratings.max())

    with ParameterServerClient(a.target, token=a.token) as ps:
        for name, dim, init, scale, seed in (("users", a.dim, "normal", a.init_scale, a.seed), ("items", a.dim, "normal", a.init_scale, a.seed + 1),
                                             ("user_bias", 1, "zeros", 0.01, a.seed + 2), ("item_bias", 1, "zeros", 0.01, a.seed + 3)):
            ps.create_table(f"{a.table_prefix}.{name}", dim, optimizer="adagrad", learning_rate=a.lr, weight_decay=a.weight_decay,
                            initializer=init, init_scale=scale, shards=8 if dim > 1 else 2, seed=seed)
        model = RemoteMf(ps, a.table_prefix, mean)
        history = []
        start = time.time()
        for epoch in range(1, a.epochs + 1):
            model.train()
            t0, loss_sum = time.time(), 0.0
            train = rng.permutation(train)
            for s in range(0, len(train), a.batch_size):
                batch = train[s:s + a.batch_size]
                u, i = torch.from_numpy(users[batch]), torch.from_numpy(items[batch])
                y = torch.from_numpy(ratings[batch])
                loss = 0.5 * ((model(u, i) - y) ** 2).sum()
                loss.backward()
                model.push()
                loss_sum += float(loss)
            rmse = validation_rmse(ps, a.table_prefix, mean, users[valid], items[valid], ratings[valid], lo, hi)
            history.append({"epoch": epoch, "train_rmse": (2 * loss_sum / len(train)) ** 0.5, "validation_rmse": rmse,
                            "seconds": time.time() - t0})
            print(f"{epoch:4d}  train RMSE {history[-1]['train_rmse']:.4f}  validation RMSE {rmse:.4f}  "
                  f"{len(train) / (time.time() - t0):,.0f} samples/s", flush=True)
        best = min(history, key=lambda h: h["validation_rmse"])
        print(f"best epoch {best['epoch']}: validation RMSE {best['validation_rmse']:.4f}; {time.time() - start:.1f} s")
        if a.report:
            with open(a.report, "w") as f:
                json.dump({"validation_rmse": best["validation_rmse"], "best_epoch": best["epoch"], "epochs": history,
                           "train_ratings": int(len(train)), "validation_ratings": int(len(valid))}, f, indent=2)


if __name__ == "__main__":
    main()
