"""Architecture encoders: torch modules mapping an `ArchBatch` to per-node states.

Every encoder is a `GraphEncoder`: `forward(batch) -> [N, V, out_dim]` node states (zero on
padding), and `embed(batch) -> [N, out_dim]` one vector per architecture (masked mean over
nodes unless the encoder knows better, e.g. GATES reads its output node). Objectives such as
the arch2vec VGAE put their own heads on the node states, so any encoder plugs into any
objective.

Every encoder also declares what a predictor needs to drive it: `out_dim`, `input_form`
(`node` or `edge`) and `make_batch(space, archs)`, the tensors it reads.

The registry below maps a command-line name to `"module:factory"`; the factory is called as
`factory(space, **opts)` and returns a `GraphEncoder`. Modules are imported lazily, so one
encoder's dependencies are not everyone's. **To add an encoder, add one line to `ENCODERS`**.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from selfnas.registry import Registry
from selfnas.spaces.batch import ArchBatch, EdgeBatch

#: encoder name -> factory(space, **opts) -> GraphEncoder; imported lazily
ENCODERS: Registry[Callable[..., GraphEncoder]] = Registry(
    "encoder",
    {
        "gin": ("selfnas.encoders.gin:GIN.from_space", "graph isomorphism network, arch2vec"),
        "gcn": ("selfnas.encoders.gcn:GCN.from_space", "graph convolutions"),
        "gcn-global": ("selfnas.encoders.gcn:GCN.with_global_node", "GCN with a global node"),
        "mlp": ("selfnas.encoders.mlp:MLPEncoder.from_space", "MLP on the flat graph"),
        "gates": ("selfnas.encoders.gates:build", "GATES gated op flow"),
        "seq": ("selfnas.encoders.seq:build_seq_encoder", "NAO-style LSTM on tokens"),
    },
    ignore_case=True,
)


class GraphEncoder(nn.Module):
    """Base of every encoder: node states from a node-form `ArchBatch`."""

    #: width of the node states (and of `embed`)
    out_dim: int = 0

    @property
    def input_form(self) -> str:
        """`node` (reads `space.batch`) or `edge` (reads `space.edge_batch`)."""
        return "node"

    def make_batch(self, space: Any, archs: Sequence[Any]) -> ArchBatch | EdgeBatch:
        """The tensors this encoder reads for `archs` of `space`: the native edge form for
        an edge encoder on an op-on-edge space, else the node form."""
        if self.input_form == "edge" and space.has_edge_batch:
            return space.edge_batch(archs)
        return space.batch(archs)

    def forward(self, batch: ArchBatch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def pool(self, nodes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean over real nodes: `[N,V,D] -> [N,D]` (padding does not dilute it)."""
        weights = mask.to(nodes.dtype).unsqueeze(-1)
        return (nodes * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def embed(self, batch: ArchBatch) -> torch.Tensor:
        """One vector per architecture."""
        return self.pool(self(batch), batch.mask)


def get_encoder(name: str, space: Any, **opts: Any) -> GraphEncoder:
    """Build the encoder called `name` for `space` (options passed to its factory)."""
    return ENCODERS.get(name)(space, **opts)


__all__ = ["ENCODERS", "GraphEncoder", "get_encoder"]
