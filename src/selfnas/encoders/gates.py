"""GATES: a graph encoder that mimics how information flows through a cell (Ning et al. 2020).

Unlike a GCN that propagates the *operations* as node features, GATES propagates an
information vector from the input node(s) and lets each operation *gate* the information
that passes through it:

    y'_j = sigmoid(W_o · e(op_j)) ⊙ Σ_{i -> j} y_i W  +  y_j W  +  b

Only the input nodes start with a learned embedding (other nodes start from zero), so the
encoding depends on the graph's data flow and not on vertex numbering: isomorphic cells get
the same embedding. Two variants share the update rule:

- op on node (`ArchBatch`, every space): the op of node j gates the sum of its inputs;
  padding and `none` nodes carry nothing and are left out of the readout.
- op on edge (`EdgeBatch`, NB201 and DARTS natively): the op of edge i -> j gates the
  message from i to j; `none` edges and absent edges (PAD) carry nothing.

`embed` gives the architecture embedding: the mean of the final node states over the
non-input nodes.
`forward` (and `node_features`, which adds the readout mask) gives the per-node states
for decoders such as a VGAE.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from selfnas.encoders import GraphEncoder
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch, EdgeBatch

Batch = ArchBatch | EdgeBatch

#: op names that carry no information (a missing connection)
NONE_OPS = ("none", "zero")


class GatesLayer(nn.Module):
    """One information-flow step: op-gated sum over predecessors plus a self path."""

    def __init__(self, in_dim: int, out_dim: int, op_dim: int) -> None:
        super().__init__()
        self.weight = nn.Linear(in_dim, out_dim, bias=False)
        self.gate = nn.Linear(op_dim, out_dim)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        bound = 1.0 / out_dim**0.5
        nn.init.uniform_(self.weight.weight, -bound, bound)

    def gate_table(self, op_table: torch.Tensor) -> torch.Tensor:
        """`sigmoid(W_o · e(op) + c)` for every op of the vocabulary: `[K, out_dim]`.

        Gates depend on the op alone, so they are computed once per op and gathered,
        not once per node or edge (most of the cost of a naive implementation)."""
        return torch.sigmoid(self.gate(op_table))

    def forward_nodes(
        self, y: torch.Tensor, adj_t: torch.Tensor, ops: torch.Tensor, op_table: torch.Tensor
    ) -> torch.Tensor:
        """Op on node: `y [N,V,D]`, `adj_t [N,V,V]` (row j lists j's predecessors),
        `ops [N,V]` op indices."""
        support = self.weight(y)
        return self.gate_table(op_table)[ops] * (adj_t @ support) + support + self.bias

    def forward_edges(
        self, y: torch.Tensor, edges: torch.Tensor, op_table: torch.Tensor
    ) -> torch.Tensor:
        """Op on edge: `edges [E,4]` rows `(arch, source, target, op)` of the edges that
        carry information. Messages are computed per real edge and scattered to their
        targets, so absent edges cost nothing."""
        n, v, _ = y.shape
        support = self.weight(y)
        flat = support.reshape(n * v, -1)
        arch, src, dst, op = edges.unbind(dim=1)
        messages = self.gate_table(op_table)[op] * flat[arch * v + src]
        incoming = torch.zeros_like(flat).index_add_(0, arch * v + dst, messages)
        return (incoming + flat).reshape(n, v, -1) + self.bias


class GatesEncoder(GraphEncoder):
    """GATES over node-form (`ArchBatch`) or native edge-form (`EdgeBatch`) graphs.

    Sizes follow the GATES paper / aw_nas defaults for NB201: op embedding 48, node
    embedding 48, hidden 96, flow layers of 128 (four here).
    """

    # buffers, registered in __init__: the ids of the `none` ops in each vocabulary
    _node_none: torch.Tensor
    _edge_none: torch.Tensor

    def __init__(
        self,
        space: SearchSpace | None = None,
        *,
        node_ops: Sequence[str] | None = None,
        edge_ops: Sequence[str] | None = None,
        form: str = "auto",
        op_dim: int = 48,
        node_dim: int = 48,
        hidden_dim: int = 96,
        layers: Sequence[int] = (128, 128, 128, 128),
        dropout: float = 0.0,
        max_inputs: int = 2,
        readout: str = "mean",
    ) -> None:
        super().__init__()
        if node_ops is None:
            node_ops = space.node_ops if space is not None else ()
        if edge_ops is None and space is not None and space.has_edge_batch:
            edge_ops = space.candidate_ops
        if form not in ("auto", "node", "edge"):
            raise InvalidOption(f"GATES form must be auto, node or edge, got {form!r}")
        if form == "auto":
            form = "edge" if edge_ops else "node"
        if form == "node" and not node_ops:
            raise InvalidOption("GATES (node form) needs the space's node op vocabulary")
        if form == "edge" and not edge_ops:
            raise InvalidOption("GATES (edge form) needs an op-on-edge space")
        if not layers:
            raise InvalidOption("GATES needs at least one flow layer")
        if readout not in ("mean", "output"):
            raise InvalidOption(f"GATES readout must be mean or output, got {readout!r}")
        #: the form `make_batch` produces; the encoder reads both where the space has both
        #: (the VGAE pretrains on the node form, the predictor may run on the edge form)
        self.form = form
        self.readout = readout
        self.node_op_names = tuple(node_ops or ())
        self.edge_op_names = tuple(edge_ops or ())
        self.max_inputs = max_inputs
        # Node form: an input node's learned embedding is chosen by its op (one per input
        # kind, e.g. `input`); edge form: by its order among the input nodes.
        if self.node_op_names:
            self.node_op_emb = nn.Embedding(len(self.node_op_names), op_dim)
            self.node_input_emb = nn.Embedding(len(self.node_op_names), node_dim)
        if self.edge_op_names:
            self.edge_op_emb = nn.Embedding(len(self.edge_op_names), op_dim)
            self.edge_input_emb = nn.Embedding(max_inputs, node_dim)
        self.to_hidden = nn.Linear(node_dim, hidden_dim)
        dims = [hidden_dim, *layers]
        self.layers = nn.ModuleList(GatesLayer(a, b, op_dim) for a, b in pairwise(dims))
        self.dropout = dropout
        self.out_dim = int(dims[-1])
        for kind, names in (("node", self.node_op_names), ("edge", self.edge_op_names)):
            ids = [i for i, name in enumerate(names) if name in NONE_OPS]
            self.register_buffer(
                f"_{kind}_none", torch.tensor(ids, dtype=torch.long), persistent=False
            )

    # ---------------------------------------------------------------- plumbing
    @property
    def input_form(self) -> str:
        """`node` (wants `space.batch`) or `edge` (wants `space.edge_batch`)."""
        return self.form

    def make_batch(self, space: SearchSpace, archs: Sequence) -> Batch:
        """The tensors this encoder reads for `archs` of `space`."""
        return space.edge_batch(archs) if self.form == "edge" else space.batch(archs)

    @staticmethod
    def _is_none(ops: torch.Tensor, none_ids: torch.Tensor) -> torch.Tensor:
        if none_ids.numel() == 0:
            return torch.zeros_like(ops, dtype=torch.bool)
        return torch.isin(ops, none_ids)

    def _flow(self, y: torch.Tensor, step) -> torch.Tensor:
        for index, layer in enumerate(self.layers):
            y = step(layer, y)
            if index != len(self.layers) - 1:
                y = F.relu(y)
            if self.dropout:
                y = F.dropout(y, self.dropout, training=self.training)
        return y

    # ---------------------------------------------------------------- encodings
    def node_features(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Final node states `[N,V,D]` (zero on padding and `none` nodes) and the readout
        mask `[N,V]`: the non-input nodes that carry information."""
        if isinstance(batch, EdgeBatch):
            return self._edge_nodes(batch)
        if isinstance(batch, ArchBatch):
            return self._node_nodes(batch)
        raise InvalidOption(f"GATES reads an ArchBatch or EdgeBatch, got {type(batch).__name__}")

    def forward(self, batch: Batch) -> torch.Tensor:
        """Node states `[N,V,D]` (the `GraphEncoder` contract)."""
        return self.node_features(batch)[0]

    def embed(self, batch: Batch) -> torch.Tensor:
        """Architecture embeddings `[N, out_dim]`: mean over the non-input nodes."""
        h, keep = self.node_features(batch)
        if self.readout == "output":
            return h[torch.arange(h.shape[0], device=h.device), _last_true(keep)]
        return self.pool(h, keep)

    def _node_nodes(self, batch: ArchBatch) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.node_op_names:
            raise InvalidOption("this GATES encoder has no node-form vocabulary; pass an EdgeBatch")
        if batch.num_ops != len(self.node_op_names):
            raise InvalidOption(
                f"batch has {batch.num_ops} node ops, GATES was built for {len(self.node_op_names)}"
            )
        ops = batch.ops.clamp(min=0)
        live = batch.mask & ~self._is_none(
            batch.ops, self._node_none
        )  # nodes that carry information
        on = live.to(batch.adj.dtype)
        adj = batch.adj * on.unsqueeze(1) * on.unsqueeze(2)
        is_input = live & (batch.adj.sum(dim=1) == 0)  # no predecessor at all
        x = self.node_input_emb(ops) * is_input.unsqueeze(-1).to(self.to_hidden.weight.dtype)
        alive = live.unsqueeze(-1).to(x.dtype)
        y = self.to_hidden(x) * alive
        adj_t = adj.transpose(1, 2)
        table = self.node_op_emb.weight
        y = self._flow(
            y, lambda layer, state: layer.forward_nodes(state, adj_t, ops, table) * alive
        )
        return y, live & ~is_input

    def _edge_nodes(self, batch: EdgeBatch) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.edge_op_names:
            raise InvalidOption("this GATES encoder has no edge-form vocabulary; pass an ArchBatch")
        edge_ops = batch.edge_ops
        slot = edge_ops != PAD
        carries = slot & ~self._is_none(edge_ops, self._edge_none)
        arch, src, dst = carries.nonzero(as_tuple=True)
        edges = torch.stack([arch, src, dst, edge_ops[arch, src, dst]], dim=1)
        is_input = ~slot.any(dim=1)  # no incoming edge slot at all
        order = (is_input.cumsum(dim=1) - 1).clamp(min=0, max=self.max_inputs - 1)
        x = self.edge_input_emb(order) * is_input.unsqueeze(-1).to(self.to_hidden.weight.dtype)
        y = self.to_hidden(x)
        table = self.edge_op_emb.weight
        y = self._flow(y, lambda layer, state: layer.forward_edges(state, edges, table))
        return y, ~is_input


def _last_true(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last True in each row of `mask [N,V]` (the output node)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask, positions, torch.full_like(positions, -1)).max(dim=1).values


def build(space: SearchSpace, **opts) -> GatesEncoder:
    """Registry hook: `get_encoder("gates", space, **opts)`."""
    return GatesEncoder(space, **opts)
