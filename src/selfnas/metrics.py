"""Ranking metrics shared by predictors and search: what matters in NAS is the order.

Conventions: higher `true` is better (accuracy) and higher `pred` means "predicted better".
A true rank is 1 for the best arch; tied archs share the best rank of their tie
(1 + the number of strictly better archs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from selfnas.errors import InvalidOption

ArrayLike = Sequence[float] | np.ndarray


def _pair(pred: ArrayLike, true: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise InvalidOption(f"pred and true differ in length: {p.size} vs {t.size}")
    if p.size == 0:
        raise InvalidOption("ranking metrics need at least one arch")
    return p, t


def kendall_tau(pred: ArrayLike, true: ArrayLike) -> float:
    """Kendall's tau-b between predicted scores and true performance."""
    p, t = _pair(pred, true)
    value = stats.kendalltau(p, t).statistic
    return float("nan") if value is None else float(value)


def spearman(pred: ArrayLike, true: ArrayLike) -> float:
    """Spearman's rank correlation."""
    p, t = _pair(pred, true)
    return float(stats.spearmanr(p, t).statistic)


def true_ranks(true: ArrayLike) -> np.ndarray:
    """Rank of each arch by true performance (1 = best; ties share the best rank)."""
    t = np.asarray(true, dtype=np.float64).ravel()
    return stats.rankdata(-t, method="min").astype(np.int64)


def rank_of(value: float, true: ArrayLike) -> int:
    """True rank an arch of performance `value` would have among `true` (1 = best)."""
    t = np.asarray(true, dtype=np.float64).ravel()
    return int(np.count_nonzero(t > value)) + 1


def _top(pred: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` highest predictions (stable: earlier index wins a tie)."""
    return np.argsort(-pred, kind="stable")[:k]


def _count(k: float, n: int) -> int:
    """`k` as a count: an int >= 1 as is, a float in (0, 1) as a fraction of `n`."""
    if isinstance(k, float) and 0 < k < 1:
        return max(1, math.ceil(k * n))
    if k < 1 or int(k) != k:
        raise InvalidOption(f"K must be a count >= 1 or a fraction in (0, 1), got {k}")
    return min(int(k), n)


def n_at_k(pred: ArrayLike, true: ArrayLike, k: float = 5) -> int:
    """N@K: the best true rank among the top-K predicted archs (1 is perfect)."""
    p, t = _pair(pred, true)
    top = _top(p, _count(k, p.size))
    return int(true_ranks(t)[top].min())


def precision_at_k(pred: ArrayLike, true: ArrayLike, k: float = 5) -> float:
    """Share of the true top-K among the predicted top-K (K a count or a fraction)."""
    p, t = _pair(pred, true)
    count = _count(k, p.size)
    hits = np.intersect1d(_top(p, count), _top(t, count)).size
    return hits / count


def regret(chosen: float, true: ArrayLike) -> float:
    """Test regret: best true value minus the value of the chosen arch (>= 0)."""
    t = np.asarray(true, dtype=np.float64).ravel()
    return float(t.max() - chosen)


def ranking_report(pred: ArrayLike, true: ArrayLike) -> dict[str, float]:
    """The predictor experiment's standard set of numbers for one evaluation."""
    p, t = _pair(pred, true)
    best = int(_top(p, 1)[0])
    return {
        "kendall_tau": kendall_tau(p, t),
        "spearman": spearman(p, t),
        "n_at_5": n_at_k(p, t, 5),
        "n_at_10": n_at_k(p, t, 10),
        "precision_at_10": precision_at_k(p, t, 10),
        "precision_at_1pct": precision_at_k(p, t, 0.01),
        "regret_top1": regret(float(t[best]), t),
    }


__all__ = [
    "kendall_tau",
    "n_at_k",
    "precision_at_k",
    "rank_of",
    "ranking_report",
    "regret",
    "spearman",
    "true_ranks",
]
