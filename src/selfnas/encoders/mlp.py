"""MLP encoder on the flattened one-hot adjacency and ops: the no-graph-structure baseline.

It sees the upper triangle of the adjacency and each vertex's one-hot op as one flat vector,
so it is not invariant to relabelling vertices; that is what the comparison with GIN/GCN
measures. It still returns per-node states (`[N, V, hidden]`, a linear read-out per vertex
slot) so node-level objectives such as the VGAE accept it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.spaces.batch import ArchBatch


class MLPEncoder(GraphEncoder):
    """`layers` hidden layers of width `hidden` on `[triu(A), onehot(ops)]`."""

    # buffers, registered in __init__: the upper-triangle indices of the adjacency
    _rows: torch.Tensor
    _cols: torch.Tensor

    def __init__(self, num_ops: int, num_vertices: int, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.num_vertices = num_vertices
        self.out_dim = hidden
        rows, cols = torch.triu_indices(num_vertices, num_vertices, offset=1)
        self.register_buffer("_rows", rows, persistent=False)
        self.register_buffer("_cols", cols, persistent=False)
        in_dim = len(rows) + num_vertices * num_ops
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.readout = nn.Linear(hidden, num_vertices * hidden)

    @classmethod
    def from_space(cls, space: Any, **opts: Any) -> MLPEncoder:
        num_vertices = opts.pop("num_vertices", None) or _space_vertices(space)
        return cls(num_ops=len(space.node_ops), num_vertices=num_vertices, **opts)

    def forward(self, batch: ArchBatch) -> torch.Tensor:
        if batch.num_vertices != self.num_vertices:
            raise ValueError(
                f"MLP encoder built for {self.num_vertices} vertices, got {batch.num_vertices}"
            )
        flat = torch.cat(
            [batch.adj[:, self._rows, self._cols], batch.one_hot_ops().flatten(1)], dim=1
        )
        h = self.readout(self.body(flat)).reshape(len(batch), self.num_vertices, self.out_dim)
        return h * batch.mask.unsqueeze(-1).to(h.dtype)


def _space_vertices(space: Any) -> int:
    """Vertex count of the space's node form (from a one-arch batch)."""
    import numpy as np

    arch = space.sample(1, np.random.default_rng(0))
    return space.batch(arch).num_vertices
