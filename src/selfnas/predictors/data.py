"""Labelled architectures for predictor experiments: every arch of a space with its target.

The one place that turns (space, benchmark, table, dataset, metric) into `archs` and a
target vector, through the benchmark layer's whole-table view (`prepare` + `values`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.errors import DataNotFound, InvalidOption
from selfnas.spaces import get_space
from selfnas.spaces.base import SearchSpace

#: default metric per benchmark
DEFAULT_METRICS = {"nb201": "cifar10_test"}

#: held-out share: the last 10 % of one fixed permutation (GATES's split)
HELDOUT_SHARE = 0.1
SPLIT_SEED = 0


@dataclass
class Labelled:
    """All archs of a space that the table scores, with their targets (higher = better)."""

    space: SearchSpace
    archs: list[Any]
    targets: np.ndarray
    source: str
    _inputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.archs)

    def inputs(self, key: str, make: Any) -> Any:
        """Tensor form of all archs for one encoder input form, built once (`make(archs)`)."""
        if key not in self._inputs:
            self._inputs[key] = make(self.archs)
        return self._inputs[key]

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(training pool, held-out) indices: held-out is the last 10 % of a fixed
        permutation; training subsets are drawn from the pool."""
        order = np.random.default_rng(SPLIT_SEED).permutation(len(self))
        cut = len(self) - round(len(self) * HELDOUT_SHARE)
        return order[:cut], order[cut:]


def load_labelled(
    space: str,
    benchmark: str,
    table: str | None = None,
    dataset: str | None = None,
    metric: str | None = None,
) -> Labelled:
    """Every arch of `space` that the benchmark scores on `metric` (table benchmarks).

    `table` is the benchmark's data file (NB201: a CSV/Parquet with `arch` + metric
    columns; others: the file `get_benchmark(..., path=)` reads). For NB201 tables,
    `--dataset cifar10 --metric test` also names the column `cifar10_test`."""
    from selfnas.benchmarks import get_benchmark
    from selfnas.benchmarks.base import TableBenchmark

    space_obj = get_space(space)
    if table is not None and not Path(table).exists():
        raise DataNotFound(f"benchmark table {table} not found")
    options: dict[str, Any] = {}
    if table is not None:
        options = {"tables": [table]} if benchmark == "nb201" else {"path": table}
    bench = get_benchmark(benchmark, **options)
    if not isinstance(bench, TableBenchmark):
        raise InvalidOption(f"predictor runs need a table benchmark; {benchmark} is not one")
    try:
        dataset = bench.default_dataset(dataset)
    except InvalidOption:
        if dataset is None:
            raise
        joined = f"{dataset}_{metric}"
        metric = joined if joined in bench.metrics(None) else metric
        dataset = bench.default_dataset(None)
    metric = bench.default_metric(metric or DEFAULT_METRICS.get(benchmark), dataset)
    if not space_obj.enumerable:
        raise InvalidOption(f"{space} cannot be enumerated for a predictor run")
    archs = space_obj.enumerate()
    rows = bench.prepare(archs, dataset)
    targets = np.full(len(archs), np.nan)
    found = rows >= 0
    targets[found] = bench.values(rows[found], dataset, metric)
    keep = np.flatnonzero(np.isfinite(targets))
    if len(keep) < 2:
        raise InvalidOption(f"{benchmark} scores fewer than 2 archs of {space} on {metric}")
    label = f"{benchmark}:{metric}" + (f" ({Path(table).name})" if table else "")
    return Labelled(space_obj, [archs[i] for i in keep], targets[keep], label)
