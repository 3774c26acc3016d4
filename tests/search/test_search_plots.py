"""The regret plot keeps the end of a search readable, not only its first queries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from selfnas.search.plots import plot_regret, regret_figure, regret_linthresh


def _curves() -> pd.DataFrame:
    q = np.arange(1, 301)
    fast = 8.0 * np.exp(-q / 15.0)  # from 8 % down to ~1e-8: the tail matters
    fast[q > 200] = 0.0  # every seed at the optimum
    slow = 8.0 / np.sqrt(q)
    parts = [
        pd.DataFrame({"strategy": name, "queries": q, "mean": mean, "std": 0.5 * mean, "seeds": 10})
        for name, mean in (("fast", fast), ("slow", slow))
    ]
    return pd.concat(parts, ignore_index=True)


def test_small_regrets_get_a_fair_share_of_the_axis():
    import matplotlib.pyplot as plt

    curves = _curves()
    fig = regret_figure(curves, "t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"
    low, high = ax.get_ylim()
    assert low == 0 and high >= float((curves["mean"] + curves["std"]).max())
    to_px = ax.transData.transform
    height = to_px((0, high))[1] - to_px((0, 0))[1]
    # 0.05 % .. 0.5 %: a sliver (~4 %) of a linear axis up to 12 %; a decade here
    span = to_px((0, 0.5))[1] - to_px((0, 0.05))[1]
    assert span / height > 0.12
    # zero regret is drawn (not dropped as it would be on a plain log axis)
    assert ax.transData.transform((250, 0.0))[1] == to_px((0, 0))[1]
    plt.close(fig)


def test_linthresh_follows_the_smallest_positive_regret():
    curves = _curves()
    assert regret_linthresh(curves) == 1e-3  # clamped: the fast curve reaches ~1e-6
    curves = curves[curves["strategy"] == "slow"]
    assert regret_linthresh(curves) == 0.1  # 8/sqrt(300) = 0.46
    assert regret_linthresh(curves.assign(mean=0.0)) == 1.0


def test_plot_is_written(tmp_path):
    path = plot_regret(_curves(), tmp_path / "r.png", title="x")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
