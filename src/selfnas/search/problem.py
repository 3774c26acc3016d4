"""One search problem: a space, a benchmark, the metric the search sees and the one reported.

`ProblemSpec` is the small, JSON-able description that travels to worker processes and
into a run's `config.json`; `Problem` is what each process builds from it once (the
benchmark tables, the arch index, the test-metric optimum and ranks). The search only
ever sees `metric`; regret, the optimum, ranks and the reported accuracy use
`test_metric` (by default the same column).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from selfnas.benchmarks.base import Benchmark, Record, TableBenchmark
from selfnas.benchmarks.table import MetricTable
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class ProblemSpec:
    """What to search: enough to rebuild the same `Problem` in any process."""

    benchmark: str
    space: str | None = None
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    metric: str | None = None
    test_metric: str | None = None
    embedding: str | None = None
    pretrained: str | None = None
    #: proxy-ranked warm start (`selfnas.search.warm`): FILE:PROXY, first archs, pool
    warm_start: str | None = None
    warm_size: int = 10
    warm_pool: int = 1000
    #: embedding searches on a space too large to enumerate: candidates sampled, and
    #: mutants of the incumbents added per round (`selfnas.search.candidates`; None: default)
    pool: int | None = None
    pool_mutants: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.warm_start is None:  # runs made before warm starts keep their config
            for key in ("warm_start", "warm_size", "warm_pool"):
                out.pop(key)
        for key in ("pool", "pool_mutants"):  # likewise for runs made before pools
            if out[key] is None:
                out.pop(key)
        return out

    def cache_key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)


class Problem:
    """A benchmark with its arch index and the test-metric facts a report needs."""

    def __init__(
        self,
        space: SearchSpace,
        benchmark: Benchmark,
        dataset: str | None = None,
        metric: str | None = None,
        test_metric: str | None = None,
        spec: ProblemSpec | None = None,
    ) -> None:
        self.space = space
        self.benchmark = benchmark
        self.dataset = benchmark.default_dataset(dataset)
        self.metric = benchmark.default_metric(metric, self.dataset)
        if test_metric is None and not benchmark.tabular:
            # a query that trains reports test accuracy beside the metric searched on
            test_metric = benchmark.test_metric(self.dataset)
        self.test_metric = benchmark.default_metric(test_metric or self.metric, self.dataset)
        self.spec = spec
        #: what searches derive from this problem and share within a process (its
        #: embedding table, its embedded candidates), keyed by what they were built from
        self.derived: dict[tuple[Any, ...], Any] = {}

    # --- the arch index: every arch of an enumerable space, by position ----------------
    @cached_property
    def archs(self) -> list[Hashable]:
        """Every arch of the space, in the space's enumeration order."""
        if not self.space.enumerable:
            raise InvalidOption(
                f"space {self.space.name!r} cannot be enumerated; this needs a tabular space"
            )
        return list(self.space.enumerate())

    @cached_property
    def keys(self) -> np.ndarray:
        """The benchmark key (`benchmark.key`) of each arch in `archs`."""
        return np.array([self.benchmark.key(a) for a in self.archs], dtype=object)

    @cached_property
    def position(self) -> dict[str, int]:
        """Benchmark key -> position in `archs`."""
        return {key: i for i, key in enumerate(self.keys)}

    # --- the reported metric -----------------------------------------------------------
    @cached_property
    def test_values(self) -> np.ndarray | None:
        """The test metric of every arch in `archs` (None where the space is not tabular)."""
        if not self.benchmark.tabular or not self.space.enumerable:
            return None
        table = whole_table(self.benchmark, self.dataset)
        if table is not None and self.test_metric in table.metrics:
            rows = table.rows(self.keys)
            if np.all(rows >= 0):
                return table.values(rows, self.test_metric)
        return np.array(
            [
                self.benchmark.query(a, self.dataset, self.test_metric)[self.test_metric]
                for a in self.archs
            ],
            dtype=np.float64,
        )

    @cached_property
    def _sorted_test(self) -> np.ndarray | None:
        values = self.test_values
        if values is None:
            return None
        return np.sort(-values[~np.isnan(values)])

    @property
    def optimum(self) -> float:
        """Best test value in the whole table (NaN if the benchmark has no table)."""
        ordered = self._sorted_test
        return float("nan") if ordered is None or not len(ordered) else float(-ordered[0])

    def rank(self, value: float) -> int:
        """1 + the number of archs with a strictly better test value (0 if unknown)."""
        ordered = self._sorted_test
        if ordered is None or np.isnan(value):
            return 0
        return int(np.searchsorted(ordered, -value, side="left")) + 1

    def search_value(self, record: Record) -> float:
        return record[self.metric]

    def test_value(self, arch: Hashable, record: Record) -> float:
        """The reported (test) metric of a queried arch; costs no budget."""
        if self.test_metric in record.metrics:
            return record[self.test_metric]
        values = self.test_values
        if values is not None:
            return float(values[self.position[record.key]])
        return self.benchmark.query(arch, self.dataset, self.test_metric)[self.test_metric]

    def describe(self) -> dict[str, Any]:
        return {
            "space": self.space.name,
            "benchmark": self.benchmark.name,
            "dataset": self.dataset,
            "metric": self.metric,
            "test_metric": self.test_metric,
            "optimum": self.optimum,
        }


def whole_table(benchmark: Benchmark, dataset: str | None) -> MetricTable | None:
    """The benchmark's `MetricTable` for `dataset` where it is a `TableBenchmark` (None
    where queries compute their answers)."""
    if isinstance(benchmark, TableBenchmark):
        return benchmark.table(dataset)
    return None


def table_space(benchmark: Benchmark, space: SearchSpace, dataset: str | None) -> SearchSpace:
    """`space`, or the part of it the benchmark's table answers for where the table holds
    fewer archs than the space (a user's NB101 extract): a search never asks for an arch
    nobody can score."""
    table = whole_table(benchmark, benchmark.default_dataset(dataset))
    if table is None or space.size is None or len(table) >= space.size:
        return space
    from selfnas.spaces.subset import SubsetSpace

    assert isinstance(benchmark, TableBenchmark)
    archs = benchmark.table_archs(dataset)
    source = f"the {len(archs):,} archs of its {benchmark.name} table"
    return SubsetSpace(space, archs, source=source)


def benchmark_from_spec(spec: ProblemSpec) -> Benchmark:
    from selfnas.benchmarks import get_benchmark

    return get_benchmark(spec.benchmark, **spec.benchmark_options)


_PROBLEMS: dict[str, Problem] = {}


def build_problem(spec: ProblemSpec) -> Problem:
    """The problem `spec` describes (built once per process)."""
    key = spec.cache_key()
    problem = _PROBLEMS.get(key)
    if problem is None:
        benchmark = benchmark_from_spec(spec)
        space = benchmark.space
        if spec.space and space.name != spec.space:
            raise InvalidOption(
                f"benchmark {spec.benchmark!r} is over space {space.name!r}, not {spec.space!r}"
            )
        space = table_space(benchmark, space, spec.dataset)
        problem = Problem(space, benchmark, spec.dataset, spec.metric, spec.test_metric, spec)
        _PROBLEMS[key] = problem
    return problem
