"""Predictor = any architecture encoder + an MLP score head (+ a comparator head).

The encoder maps a batch of architectures to embeddings `[N, D]`; the score head turns
an embedding into one score (higher = predicted better). For the comparator loss a pair
classifier reads two embeddings and gives the logit of "j is better than i"; it is made
antisymmetric (`f(a, b) - f(b, a)`) so that swapping a pair flips its verdict exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float) -> nn.Sequential:
    """Linear-ReLU-Dropout blocks, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def make_inputs(encoder: GraphEncoder, space: SearchSpace, archs: Sequence[Any]) -> Any:
    """The tensors `encoder` reads for `archs` (its `make_batch`: node or edge form)."""
    return encoder.make_batch(space, archs)


def embed(encoder: GraphEncoder, inputs: Any) -> torch.Tensor:
    """`[N, D]` embeddings: the encoder's own `embed` (graph encoders pool their node
    states their way)."""
    return encoder.embed(inputs)


class ComparatorHead(nn.Module):
    """Pair classifier over two embeddings: logit of P(second better than first)."""

    def __init__(self, dim: int, hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.net = mlp(2 * dim, hidden, 1, dropout)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        ab = self.net(torch.cat([first, second], dim=-1))
        ba = self.net(torch.cat([second, first], dim=-1))
        return (ab - ba).squeeze(-1)


class Predictor(nn.Module):
    """Encoder + MLP head (3 x 300, dropout 0.1 by default); optional comparator; with
    `features=F`, F proxy features per arch join the embedding before the heads."""

    def __init__(
        self,
        encoder: GraphEncoder,
        hidden: Sequence[int] = (300, 300, 300),
        dropout: float = 0.1,
        comparator: bool = False,
        features: int = 0,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.features = int(features)
        dim = encoder.out_dim + self.features
        self.head = mlp(dim, hidden, 1, dropout)
        # a direct linear path from the features to the score: one feature among a wide
        # embedding is otherwise learnt slowly from the few labelled archs
        self.feature_skip = nn.Linear(self.features, 1, bias=False) if self.features else None
        self.comparator = ComparatorHead(dim, hidden, dropout) if comparator else None

    def embed(self, inputs: Any) -> torch.Tensor:
        """The encoder's embedding, with the arch's proxy features appended when the
        predictor reads them (`inputs` is then a `features.WithFeatures`)."""
        if not self.features:
            return embed(self.encoder, inputs)
        graphs, extra = inputs.graphs, inputs.features
        return torch.cat([embed(self.encoder, graphs), extra.to(torch.float32)], dim=-1)

    def forward(self, inputs: Any) -> torch.Tensor:
        """Scores `[N]` (higher = predicted better)."""
        emb = self.embed(inputs)
        score = self.head(emb).squeeze(-1)
        if self.feature_skip is not None:
            score = score + self.feature_skip(emb[:, -self.features :]).squeeze(-1)
        return score

    def compare(self, emb: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Comparator logits `[P]` for index pairs `(i, j)` of `emb`: is j better than i?"""
        if self.comparator is None:
            raise InvalidOption("this predictor has no comparator head")
        return self.comparator(emb[pairs[:, 0]], emb[pairs[:, 1]])

    @torch.no_grad()
    def comparator_scores(self, emb: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Rank with the comparator: each arch's mean win probability over `reference`
        embeddings `[R, D]` (chunked so memory stays bounded)."""
        assert self.comparator is not None
        out = []
        r = reference.shape[0]
        for chunk in emb.split(max(1, 65536 // max(r, 1))):
            first = reference.unsqueeze(0).expand(chunk.shape[0], r, -1)
            second = chunk.unsqueeze(1).expand(-1, r, -1)
            out.append(torch.sigmoid(self.comparator(first, second)).mean(dim=1))
        return torch.cat(out)
