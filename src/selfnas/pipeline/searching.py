"""Searches over a benchmark: `selfnas search` and `selfnas compare` as functions.

Every (strategy, seed) runs on the shared runner (`selfnas.search.runner`), so budgets,
resume and results are the same whoever starts the search: the CLI, the demo, the
reproductions or a script.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfnas.runs.search import RunDir

if TYPE_CHECKING:
    import pandas as pd

    from selfnas.search.problem import ProblemSpec
    from selfnas.search.runner import Budget


@dataclass
class SearchOutcome:
    """What a search run holds once its seeds are done."""

    run: RunDir
    #: one row per query of every finished (strategy, seed)
    frame: pd.DataFrame
    #: per-strategy summary (`selfnas.search.summary.summarise`)
    summary: dict[str, dict[str, Any]]
    #: regret.png where the optimum is known, else best.png
    plot: Path


def compare(
    problem: ProblemSpec,
    strategies: dict[str, dict[str, Any]],
    budget: int | Budget,
    out: str | Path,
    *,
    seeds: int | Iterable[int] = 10,
    workers: int | None = None,
    seeds_for: dict[str, int] | None = None,
    backend: str = "local",
    address: str | None = None,
    title: str = "",
    describe: str | None = None,
) -> SearchOutcome:
    """Run every strategy (name -> options) on the same seeds into `out` (resumes there).

    `budget` is a number of distinct archs queried per seed, or a `Budget`; `seeds` a count
    (seeds 0..n-1) or the seed numbers. Writes results.parquet/.csv, summary.json,
    summary.csv, curves.csv (mean regret after each query) and the plot.
    """
    from selfnas.atomic import write_csv
    from selfnas.search.plots import plot_search
    from selfnas.search.runner import Budget, run_tasks
    from selfnas.search.summary import regret_curves, summarise, summary_frame

    if not isinstance(budget, Budget):
        budget = Budget(budget)
    seed_list = range(seeds) if isinstance(seeds, int) else list(seeds)
    frame = run_tasks(
        problem,
        strategies,
        seed_list,
        budget,
        out,
        workers,
        describe or title or "search",
        seeds_for,
        backend=backend,
        address=address,
    )
    run = RunDir(out)
    summary = summarise(frame)
    run.write_summary(summary)
    reports = strategy_reports(run, frame)
    if reports:
        run.write_summary(reports, "reports.json")
    plot = plot_search(frame, budget.queries, run.root, title=title)
    write_csv(run.root / "curves.csv", regret_curves(frame, budget.queries))
    write_csv(run.root / "summary.csv", summary_frame(summary))
    return SearchOutcome(run, frame, summary, plot)


def strategy_reports(run: RunDir, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per strategy, the sum over its finished seeds of each number its seeds' reports
    hold (NAO's `decoded`/`filled`, a pool's `added`) and the seed count; strategies that
    report nothing are left out."""
    out: dict[str, dict[str, Any]] = {}
    if frame.empty:
        return out
    for (strategy, seed), _ in frame.groupby(["strategy", "seed"], sort=False):
        report = run.read_report(str(strategy), int(seed))
        if report is None:
            continue
        totals = out.setdefault(str(strategy), {"seeds": 0})
        totals["seeds"] += 1
        for key, value in report.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    return out


def search(
    problem: ProblemSpec,
    strategy: str,
    budget: int | Budget,
    out: str | Path,
    *,
    options: dict[str, Any] | None = None,
    **how: Any,
) -> SearchOutcome:
    """One strategy over many seeds: `compare` with a single entry (same keywords)."""
    return compare(problem, {strategy: dict(options or {})}, budget, out, **how)
