"""Graph Isomorphism Network encoder (arch2vec's encoder).

Why GIN: its sum aggregation with a learnable self-weight `(1 + eps)` is as discriminative
as the 1-WL test, so non-isomorphic cells get different codes, while isomorphic inputs get
the same code (every operation is permutation-equivariant). The directed cell is made
undirected (`A + Aᵀ`) so information flows both ways.

Padding (NB101 cells with fewer than 7 vertices) never leaks in: padded rows are zeroed
after every layer and BatchNorm statistics are taken over real nodes only, so a cell's
code does not depend on how much padding its batch has.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import torch
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.spaces.base import space_num_vertices
from selfnas.spaces.batch import ArchBatch


class MaskedBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the real nodes of `[N,V,D]` states; padding stays zero.

    `keep` selects the real rows of the flattened `[N*V, D]` states: a boolean mask
    `[N,V]`, or (faster, what `GIN` passes) their long row indices computed once per batch.
    """

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        n, v, d = x.shape
        flat = x.reshape(n * v, d)
        if keep is None:
            return super().forward(flat).reshape(n, v, d)
        if keep.dtype == torch.bool:
            keep = keep.reshape(-1).nonzero().squeeze(1)
        real = super().forward(flat.index_select(0, keep))
        return torch.zeros_like(flat).index_copy(0, keep, real).reshape(n, v, d)


class GINLayer(nn.Module):
    """`h' = ReLU(BN(MLP((1 + eps) h + Ã h)))` with a 2-layer MLP (Linear-BN-ReLU-Linear)."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(()))
        self.lin1 = nn.Linear(in_dim, hidden)
        self.bn1 = MaskedBatchNorm(hidden)
        self.lin2 = nn.Linear(hidden, hidden)
        self.bn2 = MaskedBatchNorm(hidden)

    def forward(
        self, h: torch.Tensor, adj: torch.Tensor, keep: torch.Tensor | None
    ) -> torch.Tensor:
        x = (1.0 + self.eps) * h + torch.bmm(adj, h)
        x = torch.relu(self.bn1(self.lin1(x), keep))
        return torch.relu(self.bn2(self.lin2(x), keep))


class GIN(GraphEncoder):
    """`layers` GIN layers over the bidirected cell; node states of width `hidden`."""

    def __init__(
        self, num_ops: int, hidden: int = 128, layers: int = 4, vertex_ids: int = 0
    ) -> None:
        super().__init__()
        self.num_ops = num_ops
        self.out_dim = hidden
        self.vertex_ids = vertex_ids
        dims = [num_ops + vertex_ids] + [hidden] * layers
        self.layers = nn.ModuleList(GINLayer(a, b) for a, b in pairwise(dims))

    @classmethod
    def from_space(cls, space: Any, vertex_ids: bool = False, **opts: Any) -> GIN:
        ids = space_num_vertices(space) if vertex_ids else 0
        return cls(num_ops=len(space.node_ops), vertex_ids=ids, **opts)

    def forward(self, batch: ArchBatch) -> torch.Tensor:
        adj = batch.adj + batch.adj.transpose(1, 2)
        h = batch.one_hot_ops()
        if self.vertex_ids:
            h = torch.cat([h, self._ids(batch)], dim=-1)
        # real rows found once per batch (None: no padding, plain BatchNorm); each layer's
        # BatchNorm writes zeros on padding rows and ReLU keeps them zero
        rows = None if bool(batch.mask.all()) else batch.mask.reshape(-1).nonzero().squeeze(1)
        for layer in self.layers:
            h = layer(h, adj, rows)
        return h

    def _ids(self, batch: ArchBatch) -> torch.Tensor:
        """One-hot vertex positions `[N,V,vertex_ids]`, zero on padding."""
        v = batch.num_vertices
        if v > self.vertex_ids:
            raise ValueError(f"this encoder knows {self.vertex_ids} vertex positions, got {v}")
        eye = torch.eye(v, self.vertex_ids, dtype=batch.adj.dtype, device=batch.adj.device)
        return eye.unsqueeze(0) * batch.mask.unsqueeze(-1).to(eye.dtype)
