"""Benchmarks as oracles: one query interface over real tables and surrogates.

`Benchmark.query(arch, dataset, metric, fidelity) -> Record` answers what training the arch
would have given (from a table or a surrogate), with the simulated training seconds where
the source has them. A `Ledger` wraps a benchmark for one search and counts the budget:
distinct archs queried (a repeat costs nothing) and simulated seconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from selfnas.errors import BudgetExhausted, InvalidOption
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


class Benchmark(ABC):
    """An oracle over one search space."""

    name: str = ""
    space: SearchSpace

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


@dataclass
class Ledger:
    """Counts a search's budget: distinct archs queried and simulated seconds.

    A repeat query of an arch (same `benchmark.key`) returns the cached record at no cost.
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
