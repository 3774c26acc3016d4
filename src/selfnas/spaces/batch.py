"""`ArchBatch`: padded graph tensors for many architectures, the only thing encoders see.

Node form (every space): vertex v has op index `ops[n, v]` in the space's node vocabulary;
`adj[n, i, j] = 1` for an edge i -> j (upper triangular: vertices are topologically
ordered, input first, output last among the real vertices); `mask[n, v]` marks real
vertices (padding is False and has op index `PAD`).

Edge form (op-on-edge spaces, for encoders that run natively on edges such as GATES):
`edge_ops[n, i, j]` is the op index on edge i -> j (`PAD` where there is no edge) over
`num_nodes` fixed nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

PAD = -1


@dataclass(frozen=True)
class ArchBatch:
    """Node-form batch: `adj [N,V,V]` float, `ops [N,V]` long (PAD = -1), `mask [N,V]` bool."""

    adj: torch.Tensor
    ops: torch.Tensor
    mask: torch.Tensor
    op_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n, v, v2 = self.adj.shape
        if v != v2 or tuple(self.ops.shape) != (n, v) or tuple(self.mask.shape) != (n, v):
            raise ValueError(
                f"inconsistent ArchBatch shapes: adj {tuple(self.adj.shape)}, "
                f"ops {tuple(self.ops.shape)}, mask {tuple(self.mask.shape)}"
            )

    @classmethod
    def from_numpy(
        cls,
        adj: np.ndarray,
        ops: np.ndarray,
        op_names: tuple[str, ...],
        mask: np.ndarray | None = None,
    ) -> ArchBatch:
        """Build from arrays (`adj [N,V,V]` 0/1, `ops [N,V]` ints with PAD for padding)."""
        ops_t = torch.as_tensor(np.asarray(ops, dtype=np.int64))
        mask_t = torch.as_tensor(mask, dtype=torch.bool) if mask is not None else ops_t != PAD
        return cls(
            adj=torch.as_tensor(np.asarray(adj, dtype=np.float32)),
            ops=ops_t,
            mask=mask_t,
            op_names=tuple(op_names),
        )

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @property
    def num_vertices(self) -> int:
        return int(self.adj.shape[1])

    def __len__(self) -> int:
        return int(self.adj.shape[0])

    def __getitem__(self, index: slice | torch.Tensor | np.ndarray | list[int]) -> ArchBatch:
        if isinstance(index, torch.Tensor):
            index = index.long()  # stays on its device (no host round trip)
        elif not isinstance(index, slice):
            index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return replace(self, adj=self.adj[index], ops=self.ops[index], mask=self.mask[index])

    def to(self, device: torch.device | str) -> ArchBatch:
        return replace(
            self, adj=self.adj.to(device), ops=self.ops.to(device), mask=self.mask.to(device)
        )

    def one_hot_ops(self) -> torch.Tensor:
        """`[N,V,num_ops]` float one-hot of ops, zero rows on padding."""
        safe = self.ops.clamp(min=0)
        hot = torch.nn.functional.one_hot(safe, self.num_ops).to(self.adj.dtype)
        return hot * self.mask.unsqueeze(-1).to(hot.dtype)


@dataclass(frozen=True)
class EdgeBatch:
    """Native edge form: `edge_ops [N,V,V]` long (PAD where no edge) over fixed `V` nodes."""

    edge_ops: torch.Tensor
    op_names: tuple[str, ...]

    @classmethod
    def from_numpy(cls, edge_ops: np.ndarray, op_names: tuple[str, ...]) -> EdgeBatch:
        return cls(torch.as_tensor(np.asarray(edge_ops, dtype=np.int64)), tuple(op_names))

    @property
    def num_nodes(self) -> int:
        return int(self.edge_ops.shape[1])

    def __len__(self) -> int:
        return int(self.edge_ops.shape[0])

    def __getitem__(self, index: slice | torch.Tensor | np.ndarray | list[int]) -> EdgeBatch:
        if not isinstance(index, slice):
            index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return replace(self, edge_ops=self.edge_ops[index])

    def to(self, device: torch.device | str) -> EdgeBatch:
        return replace(self, edge_ops=self.edge_ops.to(device))
