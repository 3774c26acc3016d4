"""Benchmarks as oracles: one query interface over real tables and surrogates.

`Benchmark.query(arch, dataset, metric, fidelity) -> Record` answers what training the arch
would have given (from a table or a surrogate), with the simulated training seconds where
the source has them. A `Ledger` wraps a benchmark for one search and counts the budget:
distinct archs queried (a repeat costs nothing) and simulated seconds.

Tabular benchmarks (`TableBenchmark`) also give whole-table access for analysis: every
arch's metrics as a DataFrame, the optimum per dataset and metric, the rank of an arch
(rank 1 = best) and its regret. Their queries are canonical-key lookups into columnar
arrays (`prepare` a batch of archs into rows once, then `values` gathers any metric).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pandas as pd

from selfnas.benchmarks.table import MetricTable, higher_is_better, summary
from selfnas.errors import BudgetExhausted, InvalidArchitecture, InvalidOption
from selfnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class Record:
    """What one evaluation reports: metrics by name (accuracies in %) and its cost."""

    key: str
    metrics: Mapping[str, float]
    seconds: float | None = None

    def __getitem__(self, metric: str) -> float:
        try:
            return float(self.metrics[metric])
        except KeyError:
            raise InvalidOption(
                f"metric {metric!r} not in this record; it has {', '.join(self.metrics)}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.metrics)
        if self.seconds is not None:
            out["train_seconds"] = self.seconds
        return out


class LazySpace:
    """A benchmark's `space`, built by name on first read and replaceable by assignment.

    The surrogate and table oracles answer queries without their space (whose imports
    can be heavy), so they share this one lazy attribute instead of a property each.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.slot = f"_{attribute}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> LazySpace: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> SearchSpace: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> LazySpace | SearchSpace:
        if obj is None:
            return self
        space = obj.__dict__.get(self.slot)
        if space is None:
            from selfnas.spaces import get_space

            space = obj.__dict__[self.slot] = get_space(self.name)
        return space

    def __set__(self, obj: object, space: SearchSpace) -> None:
        obj.__dict__[self.slot] = space


class Benchmark(ABC):
    """An oracle over one search space."""

    name: str = ""
    space: SearchSpace
    #: every arch's answer can be looked up cheaply, so a search is judged by the optimum
    #: and ranks of the whole space; False where a query trains (optimum unknown)
    tabular: bool = True

    @property
    @abstractmethod
    def datasets(self) -> tuple[str, ...]:
        """Datasets this source covers (the first is the default)."""

    @abstractmethod
    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        """Metric names available on `dataset` (the first is the default search metric)."""

    def key(self, arch: Hashable) -> str:
        """Identity the ledger counts by (NB101: canonical hash; NB201: exact cell string)."""
        return self.space.hash(arch)

    @abstractmethod
    def query(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> Record:
        """Evaluate one arch; raise `InvalidArchitecture` if it is not in the benchmark."""

    def default_dataset(self, dataset: str | None) -> str:
        if dataset is None:
            return self.datasets[0]
        if dataset not in self.datasets:
            raise InvalidOption(
                f"{self.name} has no dataset {dataset!r}; choose one of {', '.join(self.datasets)}"
            )
        return dataset

    def default_metric(self, metric: str | None, dataset: str | None = None) -> str:
        available = self.metrics(dataset)
        if metric is None:
            return available[0]
        if metric not in available:
            raise InvalidOption(
                f"{self.name} has no metric {metric!r}"
                f"{f' on {dataset}' if dataset else ''}; choose one of {', '.join(available)}"
            )
        return metric

    def prefetch(self, archs: Sequence[Hashable]) -> None:
        """Evaluate a round's archs together before they are queried one by one (a
        training benchmark runs them in parallel); lookups have nothing to do."""
        return None

    # --- optional: fidelities, batches, analysis -----------------------------------
    def fidelities(self, dataset: str | None = None) -> tuple[int, ...]:
        """Fidelities `query` accepts (epochs); empty where the source has one only."""
        return ()

    def default_fidelity(self, fidelity: int | None, dataset: str | None = None) -> int | None:
        allowed = self.fidelities(dataset)
        if fidelity is None:
            return allowed[-1] if allowed else None
        if allowed and int(fidelity) not in allowed:
            raise InvalidOption(
                f"{self.name} has no fidelity {fidelity}; choose one of "
                f"{', '.join(map(str, allowed))}"
            )
        if not allowed:
            raise InvalidOption(f"{self.name} has a single fidelity; leave fidelity unset")
        return int(fidelity)

    def test_metric(self, dataset: str | None = None) -> str | None:
        """The metric a search is judged on (test accuracy) where the source has one."""
        return "test_accuracy" if "test_accuracy" in self.metrics(dataset) else None

    def query_many(
        self,
        archs: Sequence[Hashable],
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> np.ndarray:
        """One metric for many archs (no ledger); surrogates override this to batch."""
        metric = self.default_metric(metric, dataset)
        return np.array(
            [self.query(a, dataset, metric, fidelity)[metric] for a in archs], dtype=np.float64
        )

    def describe(self, dataset: str | None = None) -> dict[str, Any]:
        """What `selfnas bench info` prints: size, datasets, metrics, optimum."""
        dataset = self.default_dataset(dataset)
        return {
            "name": self.name,
            "dataset": dataset,
            "datasets": list(self.datasets),
            "size": None,
            "metrics": list(self.metrics(dataset)),
            "fidelities": list(self.fidelities(dataset)),
            "optimum": {},
        }


class TableBenchmark(Benchmark):
    """A benchmark whose every answer is a row of a `MetricTable` (per dataset/fidelity)."""

    @abstractmethod
    def table(self, dataset: str | None = None, fidelity: int | None = None) -> MetricTable:
        """The columnar table of `dataset` at `fidelity` (loaded once, then cached)."""

    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        return self.table(dataset).metrics

    def table_archs(self, dataset: str | None = None) -> list[Hashable]:
        """Every arch `table(dataset)` has a row for: where a table holds only part of its
        space, the search runs on these (`selfnas.spaces.subset`)."""
        raise NotImplementedError(f"{self.name} cannot list the archs of its table")

    def query(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> Record:
        dataset = self.default_dataset(dataset)
        table = self.table(dataset, fidelity)
        metric = self.default_metric(metric, dataset)
        key = self.key(arch)
        rows = table.rows([key])
        if rows[0] < 0:
            raise InvalidArchitecture(
                f"{self.name}: {key} is not in the benchmark ({dataset}, {len(table)} archs)"
            )
        values = table.metrics_of(int(rows[0]))
        if metric not in values:
            raise InvalidArchitecture(f"{self.name}: {key} has no value for {metric!r}")
        seconds = values.get(table.seconds_column) if table.seconds_column else None
        return Record(key, values, seconds)

    # --- batches --------------------------------------------------------------
    def keys(self, archs: Sequence[Hashable]) -> list[str]:
        return [self.key(a) for a in archs]

    def prepare(
        self, archs: Sequence[Hashable], dataset: str | None = None, fidelity: int | None = None
    ) -> np.ndarray:
        """Rows of many archs (-1 where absent): hash once, then query any metric fast."""
        return self.table(self.default_dataset(dataset), fidelity).rows(self.keys(archs))

    def values(
        self,
        rows: np.ndarray,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> np.ndarray:
        """Gather `metric` for prepared rows (NaN where a row is -1)."""
        dataset = self.default_dataset(dataset)
        return self.table(dataset, fidelity).values(rows, self.default_metric(metric, dataset))

    def query_many(
        self,
        archs: Sequence[Hashable],
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> np.ndarray:
        rows = self.prepare(archs, dataset, fidelity)
        if np.any(rows < 0):
            missing = [self.key(archs[i]) for i in np.flatnonzero(rows < 0)[:3]]
            raise InvalidArchitecture(f"{self.name}: not in the benchmark: {', '.join(missing)}")
        return self.values(rows, dataset, metric, fidelity)

    # --- whole-table analysis -------------------------------------------------
    def frame(self, dataset: str | None = None, fidelity: int | None = None) -> pd.DataFrame:
        """Every arch with its metrics (column `key` = the arch's canonical key)."""
        return self.table(self.default_dataset(dataset), fidelity).frame()

    def best(
        self, dataset: str | None = None, metric: str | None = None, fidelity: int | None = None
    ) -> tuple[str, float]:
        """(key, value) of the global optimum of `metric` on `dataset`."""
        dataset = self.default_dataset(dataset)
        return self.table(dataset, fidelity).best(self.default_metric(metric, dataset))

    def optimum(
        self, dataset: str | None = None, metric: str | None = None, fidelity: int | None = None
    ) -> float:
        return self.best(dataset, metric, fidelity)[1]

    def rank(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> int:
        """1 + number of archs strictly better on `metric` (rank 1 = best)."""
        dataset = self.default_dataset(dataset)
        metric = self.default_metric(metric, dataset)
        value = self.query(arch, dataset, metric, fidelity)[metric]
        return self.table(dataset, fidelity).rank_of_value(value, metric)

    def regret(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> float:
        """How far `arch` is from the optimum (>= 0); default metric: the test metric."""
        dataset = self.default_dataset(dataset)
        metric = metric or self.test_metric(dataset) or self.default_metric(None, dataset)
        value = self.query(arch, dataset, metric, fidelity)[metric]
        best = self.optimum(dataset, metric, fidelity)
        return float(best - value) if higher_is_better(metric) else float(value - best)

    def describe(self, dataset: str | None = None) -> dict[str, Any]:
        info = super().describe(dataset)
        table = self.table(info["dataset"])
        info["size"] = len(table)
        info["optimum"] = dict(summary(table))
        return info


@dataclass
class Ledger:
    """Counts a search's budget: distinct archs queried and simulated seconds.

    A repeat query of an arch (same `benchmark.key`, same fidelity) returns the cached
    record at no cost: NB101 keys by canonical hash, so isomorphic cells are one query;
    NB201 keys by the exact cell string, so its isomorphic cells stay separate entries.
    """

    benchmark: Benchmark
    dataset: str | None = None
    metric: str | None = None
    max_queries: int | None = None
    max_seconds: float | None = None
    records: dict[str, Record] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def queries(self) -> int:
        return len(self.order)

    def seen(self, arch: Hashable) -> bool:
        return self.benchmark.key(arch) in self.records

    def exhausted(self) -> bool:
        if self.max_queries is not None and self.queries >= self.max_queries:
            return True
        return self.max_seconds is not None and self.seconds >= self.max_seconds

    def query(self, arch: Hashable, fidelity: int | None = None) -> Record:
        key = self.benchmark.key(arch)
        if fidelity is not None:
            key = f"{key}@{fidelity}"  # another fidelity is another evaluation
        cached = self.records.get(key)
        if cached is not None:
            return cached
        if self.exhausted():
            raise BudgetExhausted(
                f"budget spent: {self.queries} queries, {self.seconds:.0f} simulated seconds"
            )
        record = self.benchmark.query(arch, self.dataset, self.metric, fidelity)
        self.records[key] = record
        self.order.append(key)
        self.seconds += record.seconds or 0.0
        return record
