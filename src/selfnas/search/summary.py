"""Summaries of a tidy results table (one row per query), answering "which method finds
the best architecture with the fewest evaluations?".

Per seed: queries until its final best was found, the final best's test value, test regret
and rank (the locality paper's Table 1 columns), and the queries until the global optimum
(either of tied optima counts: regret 0). Per strategy: their mean ± sample std, the fraction of
seeds that found the optimum, and the median queries to it, counting a seed that never
found it as infinitely many (so the median is known only when at least half found it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from selfnas.stats import MeanStd, format_mean_std, mean_std

#: a best-so-far arch counts as the global optimum when its test regret is at most this
OPTIMUM_TOLERANCE = 1e-9


def per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (strategy, seed): the seed's outcome at the end of its budget."""
    rows = []
    for (strategy, seed), group in frame.groupby(["strategy", "seed"], sort=False):
        group = group.sort_values("step")
        last = group.iloc[-1]
        reached = group["best_value"].to_numpy() == last["best_value"]
        found = group["regret"].to_numpy() <= OPTIMUM_TOLERANCE
        rows.append(
            {
                "strategy": strategy,
                "seed": int(seed),
                "queries": int(last["step"]),
                "queries_to_best": int(group["step"].to_numpy()[np.argmax(reached)]),
                "test": float(last["best_test"]),
                "regret": float(last["regret"]),
                "rank": int(last["rank"]) or math.nan,  # 0: no table to rank against
                "found_optimum": bool(found.any()),
                "queries_to_optimum": (
                    int(group["step"].to_numpy()[np.argmax(found)]) if found.any() else math.inf
                ),
                "seconds": float(last["seconds"]),
            }
        )
    return pd.DataFrame(rows)


def at_queries(frame: pd.DataFrame, queries: int) -> pd.DataFrame:
    """The rows at query `queries` of each seed (a seed that stopped earlier: its last)."""
    part = frame[frame["step"] <= queries]
    return part.sort_values("step").groupby(["strategy", "seed"], sort=False).tail(1)


def median_queries_to_optimum(values: np.ndarray) -> float | None:
    """Median with never-found seeds as +inf; None when fewer than half found it."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    if not len(values):
        return None
    median = float(np.median(values))
    return None if math.isinf(median) or math.isnan(median) else median


def _mean_std(values: pd.Series) -> MeanStd:
    """Over the seeds with a finite value (a rank is NaN without a table to rank against)."""
    array = values.to_numpy(dtype=np.float64)
    return mean_std(array[np.isfinite(array)])


def summarise(
    frame: pd.DataFrame, checkpoints: tuple[int, ...] = (50, 100, 150, 300)
) -> dict[str, dict[str, Any]]:
    """Per-strategy summary (the keys `--json` prints), in the frame's strategy order."""
    seeds = per_seed(frame)
    out: dict[str, dict[str, Any]] = {}
    for strategy in pd.unique(frame["strategy"]):
        group = seeds[seeds["strategy"] == strategy]
        mean_regret, std_regret, _ = _mean_std(group["regret"])
        mean_test, std_test, _ = _mean_std(group["test"])
        mean_q, std_q, _ = _mean_std(group["queries_to_best"])
        mean_rank, std_rank, _ = _mean_std(group["rank"])
        item: dict[str, Any] = {
            "seeds": len(group),
            "median_queries_to_optimum": median_queries_to_optimum(
                group["queries_to_optimum"].to_numpy()
            ),
            # no optimum to find (a surrogate, real training): unknown, not 0 %
            "found_optimum_fraction": (
                float(group["found_optimum"].mean()) if group["regret"].notna().any() else None
            ),
            "mean_test_regret": mean_regret,
            "std_test_regret": std_regret,
            "mean_test": mean_test,
            "std_test": std_test,
            "mean_queries_to_best": mean_q,
            "std_queries_to_best": std_q,
            "mean_rank": mean_rank,
            "std_rank": std_rank,
            "mean_queries": float(group["queries"].mean()),
        }
        rows = frame[frame["strategy"] == strategy]
        for q in checkpoints:
            if int(rows["step"].max()) >= q:
                item[f"mean_test_regret_at_{q}"] = float(at_queries(rows, q)["regret"].mean())
        out[str(strategy)] = item
    return out


def regret_curves(
    frame: pd.DataFrame, max_queries: int | None = None, column: str = "regret"
) -> pd.DataFrame:
    """Mean and std of test regret (or another per-query `column`, such as `best_test`
    where the optimum is unknown) after each number of queries, per strategy.

    A seed that stopped early (space or seconds budget spent) keeps its last value."""
    max_queries = int(max_queries or frame["step"].max())
    parts = []
    for strategy in pd.unique(frame["strategy"]):
        rows = frame[frame["strategy"] == strategy]
        table = rows.pivot_table(index="step", columns="seed", values=column, dropna=False)
        table = table.reindex(range(1, max_queries + 1)).ffill()
        parts.append(
            pd.DataFrame(
                {
                    "strategy": strategy,
                    "queries": table.index.to_numpy(),
                    "mean": table.mean(axis=1).to_numpy(),
                    "std": table.std(axis=1, ddof=1).to_numpy(),
                    "seeds": table.notna().sum(axis=1).to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def summary_frame(summary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The per-strategy summary as a table (one row per strategy), for CSV."""
    return pd.DataFrame([{"strategy": name, **values} for name, values in summary.items()])


def found_percent(summary: dict[str, Any]) -> str:
    """The found-optimum fraction as table text; "-" where the benchmark has no optimum."""
    fraction = summary["found_optimum_fraction"]
    return "-" if fraction is None else f"{100 * fraction:.0f} %"


def markdown_table(summary: dict[str, dict[str, Any]], regret_at: int = 150) -> str:
    """The comparison as a markdown table (Table 1 columns plus optimum statistics)."""
    header = (
        "| strategy | seeds | queries to final best | test acc. (%) | test regret (%) | rank "
        f"| found optimum | median queries to optimum | mean regret @{regret_at} |"
    )
    lines = [header, "|" + "---|" * 9]
    for name, s in summary.items():
        median = s["median_queries_to_optimum"]
        at = s.get(f"mean_test_regret_at_{regret_at}")
        lines.append(
            f"| {name} | {s['seeds']} "
            f"| {format_mean_std(s['mean_queries_to_best'], s['std_queries_to_best'], 1)} "
            f"| {format_mean_std(s['mean_test'], s['std_test'], 3)} "
            f"| {format_mean_std(s['mean_test_regret'], s['std_test_regret'], 3)} "
            f"| {format_mean_std(s['mean_rank'], s['std_rank'], 1)} "
            f"| {found_percent(s)} "
            f"| {'-' if median is None else f'{median:.0f}'} "
            f"| {'-' if at is None else f'{at:.3f}'} |"
        )
    return "\n".join(lines) + "\n"
