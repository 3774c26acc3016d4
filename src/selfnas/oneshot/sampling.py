"""Single-path sampling with ProxylessNAS' binarised gates ("two" mode).

On every edge, two ops are drawn from softmax(alpha) without replacement and one of them is
made active with the probabilities renormalised over the pair. Only the active op runs on a
weight step; on an architecture step the other op of the pair also runs (without building a
graph), because the gate gradient dL/dg_k = <dL/dout, o_k(x)> needs both outputs.

The gates are straight-through: value one-hot, gradient that of the pair's softmax, so
autograd reproduces ProxylessNAS' dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from selfnas.spaces.darts_genotype import DARTS_OPS, PARAMETRIC_OPS, SKIP_CONNECT

SKIP_INDEX = DARTS_OPS.index(SKIP_CONNECT)
PARAMETRIC_INDEX = torch.tensor([DARTS_OPS.index(name) for name in PARAMETRIC_OPS])


@dataclass
class CellPath:
    """The path one cell runs this step: per edge the active op (-1: edge off) and its pair."""

    active: list[int]
    other: list[int]
    gates: Tensor | None = None  # [edges, 2]: (active, other) gate values, arch steps only
    mixture: Tensor | None = None  # [edges, ops]: DARTS-style all-ops weights (baseline only)


def sample_pairs(
    alpha: Tensor, generator: torch.Generator | None, skip_dropout: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Sample (active, other) op indices for each edge of one cell from alpha [edges, ops].

    `skip_dropout`: probability that an active `skip_connect` is resampled among the
    parametric ops (softmax of their alphas); used on weight steps after warm-up only.
    """
    alpha = alpha.detach().float().cpu()
    probs = torch.softmax(alpha, dim=-1)
    pair = torch.multinomial(probs, 2, replacement=False, generator=generator)
    pair_probs = torch.softmax(alpha.gather(1, pair), dim=-1)
    pick = torch.multinomial(pair_probs, 1, generator=generator)
    active = pair.gather(1, pick).squeeze(1)
    other = pair.gather(1, 1 - pick).squeeze(1)
    if skip_dropout > 0:
        drop = (active == SKIP_INDEX) & (
            torch.rand(active.shape, generator=generator) < skip_dropout
        )
        parametric = torch.softmax(alpha[:, PARAMETRIC_INDEX], dim=-1)
        replacement = PARAMETRIC_INDEX[
            torch.multinomial(parametric, 1, generator=generator).squeeze(1)
        ]
        active = torch.where(drop, replacement, active)
    return active, other


def binary_gates(alpha: Tensor, active: Tensor, other: Tensor) -> Tensor:
    """Straight-through gates [edges, 2] for (active, other): value (1, 0), grad via softmax."""
    index = torch.stack([active, other], dim=1).to(alpha.device)
    probs = torch.softmax(alpha.gather(1, index), dim=-1)
    hard = torch.zeros_like(probs)
    hard[:, 0] = 1.0
    return hard + probs - probs.detach()
