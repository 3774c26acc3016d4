"""Regret-vs-queries plot: mean test regret per strategy with a ± std band.

Regret starts at several percent (a random first arch) and ends in hundredths of a
percent, so a linear axis shows only the first queries. The y-axis is symmetric-log
(`symlog`): logarithmic above `linthresh`, linear below it, so a regret of exactly 0 (every
seed at the optimum) still has a place on the plot. `linthresh` is the decade of the
smallest positive mean regret drawn (clamped to [1e-3, 1] %), so the end of the search is
shown as clearly as its start.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from selfnas.atomic import atomic_path


def regret_linthresh(curves: pd.DataFrame) -> float:
    """The linear range of the symlog axis: the decade of the smallest positive mean regret."""
    mean = curves["mean"].to_numpy(dtype=float)
    positive = mean[np.isfinite(mean) & (mean > 0)]
    if positive.size == 0:
        return 1.0
    decade = 10.0 ** math.floor(math.log10(float(positive.min())))
    return float(min(1.0, max(1e-3, decade)))


def regret_figure(curves: pd.DataFrame, title: str = "", ylabel: str | None = None):
    """The matplotlib figure of `regret_curves(...)` output (symlog regret axis; with
    `ylabel`, another quantity such as the best test accuracy, on a linear axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for strategy in pd.unique(curves["strategy"]):
        rows = curves[curves["strategy"] == strategy]
        x = rows["queries"].to_numpy()
        mean = rows["mean"].to_numpy()
        std = rows["std"].to_numpy()
        (line,) = ax.plot(x, mean, label=str(strategy), linewidth=1.6)
        ax.fill_between(
            x, (mean - std).clip(min=0), mean + std, alpha=0.08, color=line.get_color(), linewidth=0
        )
    if ylabel is None:
        linthresh = regret_linthresh(curves)
        ax.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
        spread = curves["std"].fillna(0.0)  # NaN with one seed: no band
        top = float(np.nanmax((curves["mean"] + spread).to_numpy(dtype=float)))
        ax.set_ylim(bottom=0, top=max(top * 1.2, 2 * linthresh))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("queries (distinct archs evaluated)")
    ax.set_ylabel(ylabel or "test regret (%, symlog scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_regret(
    curves: pd.DataFrame,
    target: str | os.PathLike[str],
    title: str = "",
    ylabel: str | None = None,
) -> Path:
    """Write a PNG of `regret_curves(...)` output (see `regret_figure`)."""
    import matplotlib.pyplot as plt

    fig = regret_figure(curves, title, ylabel)
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target


#: the y-axis of a search without a known optimum (each query trains)
BEST_TEST_LABEL = "test accuracy of the best arch so far (%)"


def search_curves(frame: pd.DataFrame, budget: int | None = None) -> tuple[pd.DataFrame, bool]:
    """The curves a search is drawn with, and whether they are regret: test regret where
    the optimum is known, else the best arch's test accuracy (no optimum to measure from)."""
    from selfnas.search.summary import regret_curves

    if frame["regret"].notna().any():
        return regret_curves(frame, budget), True
    return regret_curves(frame, budget, column="best_test"), False


def plot_search(
    frame: pd.DataFrame, budget: int | None, folder: str | os.PathLike[str], title: str = ""
) -> Path:
    """The picture of a search's results in `folder`: `regret.png` where the optimum is
    known, else `best.png` (see `search_curves`)."""
    curves, is_regret = search_curves(frame, budget)
    if is_regret:
        return plot_regret(curves, Path(folder) / "regret.png", title=title)
    return plot_regret(curves, Path(folder) / "best.png", title=title, ylabel=BEST_TEST_LABEL)
