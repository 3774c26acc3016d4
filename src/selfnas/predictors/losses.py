"""Regression and learning-to-rank losses for performance predictors (GATES, sec. 3.3).

Every loss has one call signature, `loss(scores, targets, pairs)`, so the trainer can swap
them by name: `scores [n]` are the predictor's outputs on a batch, `targets [n]` the true
performance (higher is better), and `pairs [P,2]` index pairs `(i, j)` of that batch with
`targets[i] != targets[j]` (see `sample_pairs`). Pairwise losses read `pairs`; pointwise
and listwise losses ignore it. The comparator loss reads pair logits from a comparator
head instead of scores (see `ComparatorHead` in `model.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F

from selfnas.errors import InvalidOption

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

#: default hinge margin (GATES / aw_nas `compare_margin`)
HINGE_MARGIN = 0.1


def mse_loss(scores: torch.Tensor, targets: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Regression: squared error to the (standardised) targets."""
    return F.mse_loss(scores, targets)


def hinge_loss(
    scores: torch.Tensor,
    targets: torch.Tensor,
    pairs: torch.Tensor,
    margin: float = HINGE_MARGIN,
) -> torch.Tensor:
    """Pairwise hinge: `max(0, m - sign(y_j - y_i) · (s_j - s_i))`, mean over pairs."""
    i, j = pairs[:, 0], pairs[:, 1]
    sign = torch.sign(targets[j] - targets[i])
    return F.relu(margin - sign * (scores[j] - scores[i])).mean()


def bce_loss(scores: torch.Tensor, targets: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Pairwise BCE on `sigmoid(s_j - s_i)` against the label `y_j > y_i`."""
    i, j = pairs[:, 0], pairs[:, 1]
    label = (targets[j] > targets[i]).to(scores.dtype)
    return F.binary_cross_entropy_with_logits(scores[j] - scores[i], label)


def comparator_loss(
    logits: torch.Tensor, targets: torch.Tensor, pairs: torch.Tensor
) -> torch.Tensor:
    """Comparator: BCE of the pair classifier's logit `P(j better than i)`; `logits [P]`."""
    i, j = pairs[:, 0], pairs[:, 1]
    label = (targets[j] > targets[i]).to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, label)


def listmle_loss(scores: torch.Tensor, targets: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """ListMLE: negative log-likelihood of the true order under a Plackett-Luce model,

    `-Σ_k [s_{π_k} - log Σ_{l >= k} exp(s_{π_l})]` with `π` sorted best first; divided by
    the list length so its scale does not grow with the batch."""
    order = torch.argsort(targets, descending=True, stable=True)
    s = scores[order]
    tail_logsumexp = torch.logcumsumexp(s.flip(0), dim=0).flip(0)
    return (tail_logsumexp - s).sum() / s.numel()


LOSSES: dict[str, LossFn] = {
    "mse": mse_loss,
    "hinge": hinge_loss,
    "bce": bce_loss,
    "comparator": comparator_loss,
    "listmle": listmle_loss,
}

#: losses that read index pairs (the trainer samples them only for these)
PAIRWISE = frozenset({"hinge", "bce", "comparator"})


def get_loss(name: str) -> LossFn:
    """The loss called `name` (one of `LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise InvalidOption(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None


def sample_pairs(targets: np.ndarray, max_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `max_pairs` distinct pairs `(i, j)`, `i < j`, with `targets[i] != targets[j]`.

    When there are few enough pairs all are used; otherwise pairs are drawn uniformly
    without replacement (vectorised: one draw over the flat upper-triangle index)."""
    n = len(targets)
    if n < 2 or max_pairs < 1:
        return np.zeros((0, 2), dtype=np.int64)
    total = n * (n - 1) // 2
    if total <= max_pairs * 2:
        i, j = np.triu_indices(n, k=1)
        keep = targets[i] != targets[j]
        i, j = i[keep], j[keep]
        if len(i) > max_pairs:
            pick = rng.choice(len(i), size=max_pairs, replace=False)
            i, j = i[pick], j[pick]
        return np.stack([i, j], axis=1).astype(np.int64)
    # draw more than needed, drop ties and repeats, keep the first max_pairs
    draw = min(total, int(max_pairs * 1.5) + 16)
    flat = rng.choice(total, size=draw, replace=False)
    i, j = _unflatten_triu(flat, n)
    keep = targets[i] != targets[j]
    i, j = i[keep][:max_pairs], j[keep][:max_pairs]
    return np.stack([i, j], axis=1).astype(np.int64)


def _unflatten_triu(flat: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-major upper-triangle (k=1) flat index -> (i, j)."""
    # number of pairs before row i: i*n - i*(i+1)/2
    flat = flat.astype(np.float64)
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(b * b - 8 * flat)) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2
    # guard float rounding at row boundaries
    over = flat.astype(np.int64) < start
    i = i - over
    start = i * n - i * (i + 1) // 2
    under = flat.astype(np.int64) - start >= n - 1 - i
    i = i + under
    start = i * n - i * (i + 1) // 2
    j = flat.astype(np.int64) - start + i + 1
    return i, j
