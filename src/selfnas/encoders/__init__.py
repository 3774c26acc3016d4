"""Architecture encoders: torch modules mapping an `ArchBatch` to per-node states.

Every encoder is a `GraphEncoder`: `forward(batch) -> [N, V, out_dim]` node states (zero on
padding), and `embed(batch) -> [N, out_dim]` one vector per architecture (masked mean over
nodes unless the encoder knows better, e.g. GATES reads its output node). Objectives such as
the arch2vec VGAE put their own heads on the node states, so any encoder plugs into any
objective.

The registry below maps a command-line name to `"module:factory"`; the factory is called as
`factory(space, **opts)` and returns a `GraphEncoder`. Modules are imported lazily, so one
encoder's dependencies are not everyone's. **To add an encoder, add one line to `ENCODERS`**
(the GATES engineer adds `"gates"`, the sequence-encoder engineer adds `"seq"`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import torch
from torch import nn

from selfnas.errors import InvalidOption
from selfnas.spaces.batch import ArchBatch

#: encoder name -> "module:factory"; factory(space, **opts) -> GraphEncoder
ENCODERS: dict[str, str] = {
    "gin": "selfnas.encoders.gin:GIN.from_space",
    "gcn": "selfnas.encoders.gcn:GCN.from_space",
    "gcn-global": "selfnas.encoders.gcn:GCN.with_global_node",
    "mlp": "selfnas.encoders.mlp:MLPEncoder.from_space",
    "gates": "selfnas.encoders.gates:build",
    "seq": "selfnas.encoders.seq:build_seq_encoder",
}


class GraphEncoder(nn.Module):
    """Base of every encoder: node states from a node-form `ArchBatch`."""

    #: width of the node states (and of `embed`)
    out_dim: int = 0

    def forward(self, batch: ArchBatch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def pool(self, nodes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean over real nodes: `[N,V,D] -> [N,D]` (padding does not dilute it)."""
        weights = mask.to(nodes.dtype).unsqueeze(-1)
        return (nodes * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def embed(self, batch: ArchBatch) -> torch.Tensor:
        """One vector per architecture."""
        return self.pool(self(batch), batch.mask)


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj: Any = import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def get_encoder(name: str, space: Any, **opts: Any) -> GraphEncoder:
    """Build the encoder called `name` for `space` (options passed to its factory)."""
    key = name.lower()
    if key not in ENCODERS:
        raise InvalidOption(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return _resolve(ENCODERS[key])(space, **opts)


__all__ = ["ENCODERS", "GraphEncoder", "get_encoder"]
