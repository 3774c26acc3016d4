"""Helpers the reproductions share: where the data is, pretraining, searches, rows.

Pretraining, embedding and searching are `selfnas.pipeline`'s functions (the ones the CLI
calls), so a reproduction measures exactly what a user of `selfnas pretrain` / `compare`
would get, and records the same run directories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfnas.errors import DataNotFound
from selfnas.pipeline.pretraining import embed
from selfnas.reproduce.base import Row
from selfnas.runs.pretrain import PretrainRun


# --- data ------------------------------------------------------------------------------
def data_file(name: str) -> Path | None:
    """Path of catalogue file `name` under the data directory, or None when absent."""
    from selfnas.benchmarks import sources

    path = sources.file(name).path()
    return path if path.exists() else None


def nb201_tables(require_12ep: bool = False) -> list[Path]:
    """The NB201 reference tables present (200-epoch CIFAR-10 first, then 12-epoch)."""
    found = [p for p in (data_file("nb201-200ep-cifar10"), data_file("nb201-12ep")) if p]
    if not found or (require_12ep and data_file("nb201-12ep") is None):
        from selfnas.benchmarks import sources

        sources.require_source("nb201")
        raise DataNotFound("nb201: the 12-epoch table nb201/nb201_12ep.csv is needed here")
    return found


def nb101_official() -> Path | None:
    """The full NB101 file (tfrecord or NASLib pickle) when the user has it."""
    return data_file("nb101-tfrecord") or data_file("nb101-naslib-pickle")


# --- pretraining -----------------------------------------------------------------------
#: what `pretrain` returns (the run, its trained objective in memory)
Pretrained = PretrainRun
__all__ = ["Pretrained", "compare", "embed", "pretrain", "search_rows"]


def pretrain(
    objective_name: str,
    space_name: str,
    out: Path,
    *,
    epochs: int,
    seed: int = 0,
    subset: int | None = None,
    samples: int | None = None,
    validity_samples: int = 1000,
    options: dict[str, Any] | None = None,
    device: str = "cpu",
) -> PretrainRun:
    """`selfnas.pipeline.pretrain` as the reproductions run it (resumes in `out`): the
    published objective (no per-space option defaults), evaluated once, after the last
    epoch."""
    from selfnas.pipeline import pretrain as run_pretrain

    return run_pretrain(
        objective_name,
        space_name,
        out,
        epochs=epochs,
        seed=seed,
        options=options,
        space_defaults=False,
        samples=samples,
        subset=subset,
        validity_samples=validity_samples,
        eval_every=epochs,
        device=device,
    )


# --- search ----------------------------------------------------------------------------
def compare(
    spec: Any,
    strategies: dict[str, dict[str, Any]],
    seeds: int,
    budget: int,
    out: Path,
    workers: int | None = None,
    title: str = "",
) -> tuple[Any, dict[str, dict[str, Any]], Path]:
    """`selfnas.pipeline.compare` as a tuple: (results frame, summary, regret or best PNG)."""
    from selfnas.pipeline import compare as run_compare

    outcome = run_compare(spec, strategies, budget, out, seeds=seeds, workers=workers, title=title)
    return outcome.frame, outcome.summary, outcome.plot


def search_rows(
    summary: dict[str, dict[str, Any]],
    table: str,
    labels: dict[str, str],
    columns: dict[str, tuple[str, str]],
    **how: Any,
) -> list[Row]:
    """Rows from a search summary: `labels` maps strategy -> the paper's row name and
    `columns` maps the paper's column -> (summary mean key, summary std key)."""
    rows = []
    for strategy, label in labels.items():
        if strategy not in summary:
            continue
        s = summary[strategy]
        for column, (mean_key, std_key) in columns.items():
            rows.append(Row(table, label, column, s.get(mean_key), s.get(std_key), **how))
    return rows


def rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
