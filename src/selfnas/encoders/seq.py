"""NAO's token-sequence encoder (Luo et al. 2018, as used by Choi et al. 2020).

A node-form graph becomes one token per upper-triangular cell and one per op, column by
column: for column c = 1..V-1, the rows r < c give `NO_EDGE`/`EDGE`, then the op of vertex
c. With 7 vertices that is the paper's 27 tokens (Fig. 3); NB201's node form (8 vertices)
gives 35. Vertex 0 (the input) emits nothing, because its op never varies. Graphs with
fewer vertices than the layout (pruned NB101 cells) end in `PAD` tokens, as in SemiNAS.

The encoder embeds tokens (hidden 16), runs a 1-layer BiLSTM, projects back to the hidden
size, adds the residual and L2-normalises each token; the architecture embedding is the
L2-normalised mean over tokens. Keeping the per-token outputs matters: NAO's decoder
attends over them and NAO's search moves them along the predictor's gradient.

As a `GraphEncoder` (so graph objectives such as the VGAE can use it too), the node state
of vertex c >= 1 is the output at its op token (the BiLSTM has read its column's edges
and the rest of the sequence by then) and vertex 0's is the arch embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace, space_num_vertices
from selfnas.spaces.batch import PAD, ArchBatch

#: token ids shared by every layout (SemiNAS numbering: 0 is also the decoder's start)
PAD_TOKEN = 0
NO_EDGE = 1
EDGE = 2
FIRST_OP_TOKEN = 3


@dataclass(frozen=True)
class SeqLayout:
    """The bijection between node-form graphs of `num_vertices` vertices and token rows."""

    num_vertices: int
    op_names: tuple[str, ...]
    #: op index of vertex 0 (not emitted; restored on decoding)
    input_op: int = 0
    #: node ops that get a token (every op but the input's)
    token_ops: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.num_vertices < 2:
            raise InvalidOption(f"a sequence layout needs >= 2 vertices, got {self.num_vertices}")
        if not self.token_ops:
            ops = tuple(i for i in range(len(self.op_names)) if i != self.input_op)
            object.__setattr__(self, "token_ops", ops)

    @classmethod
    def for_ops(cls, num_vertices: int, op_names: tuple[str, ...]) -> SeqLayout:
        """Layout whose input op is the one named `input` (else op 0)."""
        input_op = op_names.index("input") if "input" in op_names else 0
        return cls(num_vertices, tuple(op_names), input_op)

    # --- sizes ----------------------------------------------------------------
    @property
    def length(self) -> int:
        """Tokens per graph: (V-1)(V+2)/2, 27 for V = 7."""
        v = self.num_vertices
        return (v - 1) * (v + 2) // 2

    @property
    def vocab_size(self) -> int:
        return FIRST_OP_TOKEN + len(self.token_ops)

    # --- positions (cached tensors) ----------------------------------------------
    def positions(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per token: `row` (-1 for op tokens), `col`, and `is_op` (bool)."""
        rows: list[int] = []
        cols: list[int] = []
        for c in range(1, self.num_vertices):
            rows.extend(range(c))
            cols.extend([c] * c)
            rows.append(-1)
            cols.append(c)
        row = torch.tensor(rows, dtype=torch.long)
        col = torch.tensor(cols, dtype=torch.long)
        return row, col, row < 0

    def allowed(self, allow_pad: bool = True) -> torch.Tensor:
        """`[L, vocab]` bool: which tokens may stand at each position when decoding."""
        _, _, is_op = self.positions()
        allowed = torch.zeros(self.length, self.vocab_size, dtype=torch.bool)
        allowed[~is_op, NO_EDGE] = True
        allowed[~is_op, EDGE] = True
        allowed[is_op, FIRST_OP_TOKEN:] = True
        allowed[:, PAD_TOKEN] = allow_pad
        return allowed

    def _op_to_token(self) -> torch.Tensor:
        table = torch.full((len(self.op_names),), PAD_TOKEN, dtype=torch.long)
        for k, op in enumerate(self.token_ops):
            table[op] = FIRST_OP_TOKEN + k
        return table

    # --- conversion ---------------------------------------------------------------
    def encode(self, batch: ArchBatch) -> torch.Tensor:
        """`[N, L]` long tokens of a node-form batch (padded vertices give PAD tokens)."""
        v = batch.num_vertices
        if v > self.num_vertices:
            raise InvalidOption(
                f"graphs have {v} vertices but the sequence layout holds {self.num_vertices}"
            )
        adj, ops, mask = batch.adj, batch.ops, batch.mask
        if v < self.num_vertices:  # pad the graph side up to the layout
            extra = self.num_vertices - v
            adj = F.pad(adj, (0, extra, 0, extra))
            ops = F.pad(ops, (0, extra), value=PAD)
            mask = F.pad(mask, (0, extra), value=False)
        row, col, is_op = (t.to(adj.device) for t in self.positions())
        edge = adj[:, row.clamp(min=0), col].round().long() + NO_EDGE
        op_tok = self._op_to_token().to(adj.device)[ops[:, col].clamp(min=0)]
        tokens = torch.where(is_op, op_tok, edge)
        return torch.where(mask[:, col], tokens, torch.full_like(tokens, PAD_TOKEN))

    def decode(self, tokens: torch.Tensor) -> ArchBatch:
        """Node-form graphs of token rows; a column whose op token is PAD is padding.

        Whether the result is a valid member of a space is for `SearchSpace.decode` to say."""
        n = tokens.shape[0]
        v = self.num_vertices
        row, col, is_op = (t.to(tokens.device) for t in self.positions())
        token_to_op = torch.full((self.vocab_size,), PAD, dtype=torch.long, device=tokens.device)
        token_to_op[FIRST_OP_TOKEN:] = torch.tensor(self.token_ops, device=tokens.device)
        ops = torch.full((n, v), PAD, dtype=torch.long, device=tokens.device)
        ops[:, 0] = self.input_op
        ops[:, col[is_op]] = token_to_op[tokens[:, is_op]]
        mask = ops != PAD
        adj = torch.zeros(n, v, v, device=tokens.device)
        edge_pos = ~is_op
        adj[:, row[edge_pos], col[edge_pos]] = (tokens[:, edge_pos] == EDGE).float()
        adj = adj * mask.unsqueeze(1) * mask.unsqueeze(2)
        return ArchBatch(adj=adj, ops=ops, mask=mask, op_names=self.op_names)


def layout_for(space: SearchSpace) -> SeqLayout:
    """The sequence layout of a space's node form."""
    return SeqLayout.for_ops(space_num_vertices(space), tuple(space.node_ops))


class SeqEncoder(GraphEncoder):
    """Embedding -> BiLSTM -> projection + residual -> per-token L2 norm -> normalised mean."""

    node_token: torch.Tensor  # buffer, registered in __init__

    def __init__(
        self, layout: SeqLayout, hidden: int = 16, layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.layout = layout
        self.hidden = hidden
        self.dropout = dropout
        self.embedding = nn.Embedding(layout.vocab_size, hidden)
        self.rnn = nn.LSTM(
            hidden,
            hidden,
            layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out_proj = nn.Linear(2 * hidden, hidden)
        self.out_dim = hidden
        _, col, is_op = layout.positions()
        #: token index of each vertex's op token (vertex 0 has none: -1)
        node_token = torch.full((layout.num_vertices,), -1, dtype=torch.long)
        node_token[col[is_op]] = torch.nonzero(is_op).squeeze(1)
        self.register_buffer("node_token", node_token, persistent=False)

    def encode_tokens(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(token_outputs [N,L,H], embedding [N,H])`, both L2-normalised."""
        x = F.dropout(self.embedding(tokens), self.dropout, training=self.training)
        out, _ = self.rnn(x)
        out = F.normalize(self.out_proj(out) + x, p=2, dim=-1)
        return out, pool_tokens(out)

    def encode(self, batch: ArchBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_tokens(self.layout.encode(batch))

    def nodes_of(self, token_outputs: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Node states `[N, V, H]` of a layout-sized graph from the token outputs."""
        nodes = token_outputs[:, self.node_token.clamp(min=0)]
        return torch.cat([embedding.unsqueeze(1), nodes[:, 1:]], dim=1)

    def forward(self, batch: ArchBatch) -> torch.Tensor:
        """Node states `[N, V, hidden]` (V of the batch; zero on padding)."""
        outputs, embedding = self.encode(batch)
        nodes = self.nodes_of(outputs, embedding)[:, : batch.num_vertices]
        return nodes * batch.mask.unsqueeze(-1).to(nodes.dtype)

    def embed(self, batch: ArchBatch) -> torch.Tensor:
        """Architecture embeddings `[N, hidden]`: NAO's normalised token mean."""
        return self.encode(batch)[1]


def pool_tokens(token_outputs: torch.Tensor) -> torch.Tensor:
    """NAO's arch embedding: the L2-normalised mean of the token outputs."""
    return F.normalize(token_outputs.mean(dim=1), p=2, dim=-1)


def build_seq_encoder(space: SearchSpace, **options: Any) -> SeqEncoder:
    """Registry factory: options `hidden` (16), `layers` (1), `dropout` (0.0)."""
    known = {"hidden", "layers", "dropout"}
    unknown = set(options) - known
    if unknown:
        raise InvalidOption(
            f"unknown seq encoder option(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(sorted(known))}"
        )
    return SeqEncoder(layout_for(space), **options)


#: encoder registry entries contributed by this module (name -> factory(space, **options))
ENCODERS = {"seq": build_seq_encoder}

__all__ = [
    "EDGE",
    "ENCODERS",
    "FIRST_OP_TOKEN",
    "NO_EDGE",
    "PAD_TOKEN",
    "SeqEncoder",
    "SeqLayout",
    "build_seq_encoder",
    "layout_for",
    "pool_tokens",
    "space_num_vertices",
]
