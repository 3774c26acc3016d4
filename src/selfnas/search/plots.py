"""Regret-vs-queries plot: mean test regret per strategy with a ± std band."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from selfnas.atomic import atomic_path


def plot_regret(curves: pd.DataFrame, target: str | os.PathLike[str], title: str = "") -> Path:
    """Write a PNG of `regret_curves(...)` output (log-scaled regret where all are > 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for strategy in pd.unique(curves["strategy"]):
        rows = curves[curves["strategy"] == strategy]
        x = rows["queries"].to_numpy()
        mean = rows["mean"].to_numpy()
        std = rows["std"].to_numpy()
        (line,) = ax.plot(x, mean, label=str(strategy), linewidth=1.6)
        ax.fill_between(
            x, (mean - std).clip(min=0), mean + std, alpha=0.15, color=line.get_color(), linewidth=0
        )
    ax.set_xlabel("queries (distinct archs evaluated)")
    ax.set_ylabel("test regret (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target
