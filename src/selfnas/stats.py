"""Mean ± std over seeds, computed and written one way everywhere.

The spread is the sample standard deviation (ddof=1): seeds are a sample of the runs one
could make, and with the 2 to 10 seeds most tables have, the population formula (ddof=0)
understates it by up to 30 %. With fewer than two values the spread is unknown, so `std` is
None rather than a misleading 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, TypeGuard

import numpy as np


class MeanStd(NamedTuple):
    """Mean and sample standard deviation of `n` values (None where undefined)."""

    mean: float | None
    std: float | None
    n: int


def mean_std(values: Iterable[float] | np.ndarray) -> MeanStd:
    """Mean, sample std (ddof=1) and count of `values`; mean None when there are none,
    std None when there are fewer than two. Values are taken as given (a NaN stays NaN):
    a caller that means to skip missing values drops them first."""
    array = np.asarray(list(values), dtype=np.float64).ravel()
    n = int(array.size)
    if n == 0:
        return MeanStd(None, None, 0)
    std = float(np.std(array, ddof=1)) if n > 1 else None
    return MeanStd(float(array.mean()), std, n)


def _present(value: float | None) -> TypeGuard[float]:
    return value is not None and not math.isnan(value)


def format_mean_std(
    mean: float | None, std: float | None, digits: int, n: int | None = None
) -> str:
    """`mean ± std` at `digits` places, then `(n=N)` when `n` is given: "-" without a mean,
    the mean alone without a std (one seed)."""
    if not _present(mean):
        return "-"
    text = f"{mean:.{digits}f}"
    if _present(std):
        text += f" ± {std:.{digits}f}"
    if n is not None:
        text += f" (n={n})"
    return text
