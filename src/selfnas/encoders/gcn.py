"""Graph convolutional encoder (Kipf & Welling), with an optional global node.

The GAE/VGAE baselines of the arch2vec table use GCN layers. Propagation uses the
symmetrically normalised bidirected adjacency with self loops, `D^-1/2 (A + Aᵀ + I) D^-1/2`,
so each layer averages a node with its neighbours (a GCN cannot tell sums apart the way GIN
can, which is the point of comparing them). The global node variant adds one virtual node
linked both ways to every real node: two-hop paths through it let distant nodes talk in one
layer, and its state is the graph's embedding.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import torch
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.spaces.batch import ArchBatch


def normalised_adjacency(adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`D^-1/2 (A + Aᵀ + I) D^-1/2` over real nodes (padding rows and columns are zero)."""
    eye = torch.diag_embed(mask.to(adj.dtype))
    a = adj + adj.transpose(1, 2) + eye
    deg = a.sum(-1)
    inv = torch.where(deg > 0, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
    return inv.unsqueeze(-1) * a * inv.unsqueeze(-2)


class GCN(GraphEncoder):
    """`layers` graph convolutions of width `hidden` (ReLU between, dropout optional)."""

    def __init__(
        self,
        num_ops: int,
        hidden: int = 128,
        layers: int = 4,
        global_node: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_ops = num_ops
        self.global_node = global_node
        self.out_dim = hidden
        in_dim = num_ops + (1 if global_node else 0)
        dims = [in_dim] + [hidden] * layers
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_space(cls, space: Any, **opts: Any) -> GCN:
        return cls(num_ops=len(space.node_ops), **opts)

    @classmethod
    def with_global_node(cls, space: Any, **opts: Any) -> GCN:
        return cls(num_ops=len(space.node_ops), global_node=True, **opts)

    def _propagate(self, batch: ArchBatch) -> torch.Tensor:
        """States of the real nodes, then (global variant) the global node as last row."""
        adj, mask, h = batch.adj, batch.mask, batch.one_hot_ops()
        if self.global_node:
            n = mask.shape[0]
            h = torch.cat([h, torch.zeros_like(h[:, :, :1])], dim=-1)
            glob = torch.zeros(n, 1, h.shape[-1], dtype=h.dtype, device=h.device)
            glob[:, 0, -1] = 1.0
            h = torch.cat([h, glob], dim=1)
            link = mask.to(adj.dtype).unsqueeze(-1)  # real node -> global node
            top = torch.cat([adj, link], dim=2)
            adj = torch.cat([top, torch.zeros_like(top[:, :1])], dim=1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        a_hat = normalised_adjacency(adj, mask)
        keep = mask.unsqueeze(-1).to(h.dtype)
        for i, linear in enumerate(self.linears):
            h = torch.bmm(a_hat, linear(self.dropout(h)))
            if i < len(self.linears) - 1:
                h = torch.relu(h)
            h = h * keep
        return h

    def forward(self, batch: ArchBatch) -> torch.Tensor:
        h = self._propagate(batch)
        return h[:, : batch.num_vertices] if self.global_node else h

    def embed(self, batch: ArchBatch) -> torch.Tensor:
        if not self.global_node:
            return super().embed(batch)
        return self._propagate(batch)[:, -1]
