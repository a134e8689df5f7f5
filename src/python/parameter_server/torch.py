"""Embedding tables that live in the parameter server, for PyTorch models.

    users = RemoteEmbedding(ps, "job.users")
    u = users(user_ids)            # pulls the batch's rows; a leaf tensor PyTorch differentiates
    loss.backward()
    users.push()                   # sends each row's gradient; the table's optimizer updates it on the server

A row used several times in a batch is pulled once and its gradients add up (torch.unique and indexing).
"""

from __future__ import annotations

import numpy as np
import torch

from .client import ParameterServerClient


class RemoteEmbedding(torch.nn.Module):
    """An nn.Embedding whose rows are in a parameter-server table: forward pulls, push() sends the gradients."""

    def __init__(self, client: ParameterServerClient, table: str):
        super().__init__()
        self.client = client
        self.table = table
        self._pending: list[tuple[np.ndarray, torch.Tensor]] = []

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        unique, inverse = torch.unique(ids, return_inverse=True)
        keys = unique.cpu().numpy().astype(np.int64)
        rows = torch.from_numpy(self.client.pull(self.table, keys).copy()).requires_grad_(self.training)
        if self.training:
            self._pending.append((keys, rows))
        return rows[inverse.reshape(ids.shape)]

    def push(self) -> int:
        """Sends the gradients of the rows pulled since the last push (zero for rows the loss did not use)."""
        pushed = 0
        for keys, rows in self._pending:
            grad = rows.grad if rows.grad is not None else torch.zeros_like(rows)
            pushed += self.client.push(self.table, keys, grad.detach().cpu().numpy())
        self._pending.clear()
        return pushed
