"""A benchmark whose query trains the arch (or calls the user's evaluate): the oracle of a
real search, behind the same `Benchmark` interface as the lookup tables.

Every strategy, the runner, resume and reports work unchanged: the runner hands each
round's archs to `prefetch`, which evaluates them together (in parallel on Ray), and the
queries that follow read the finished trials. A trial that failed every attempt answers
with the worst value of each metric (0 % accuracy; +inf for a cost) and `failed = 1`, so
a strategy learns to avoid it and the run goes on.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from selfnas.benchmarks.base import Benchmark, Record
from selfnas.benchmarks.table import higher_is_better
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace
from selfnas.trials.pool import TrialPool
from selfnas.trials.store import FAILED, Trial


class TrialBenchmark(Benchmark):
    """Queries answered by trials of a `TrialPool` (no table: no optimum, no ranks)."""

    name = "train"
    tabular = False

    def __init__(self, space: SearchSpace, pool: TrialPool, dataset: str = "custom") -> None:
        self.space = space
        self.pool = pool
        self.dataset = dataset

    @property
    def datasets(self) -> tuple[str, ...]:
        return (self.dataset,)

    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        return self.pool.evaluator.metrics

    def test_metric(self, dataset: str | None = None) -> str | None:
        return "test_accuracy" if "test_accuracy" in self.metrics() else None

    def prefetch(self, archs: Sequence[Hashable]) -> None:
        self.pool.evaluate(list(archs), [self.key(a) for a in archs])

    def query(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> Record:
        if fidelity is not None:
            raise InvalidOption("a training benchmark has one fidelity: set --epochs instead")
        self.default_dataset(dataset)
        key = self.key(arch)
        trial = self.pool.evaluate([arch], [key])[key]
        return self.record(trial)

    def record(self, trial: Trial) -> Record:
        if trial.status == FAILED:
            worst = {m: (0.0 if higher_is_better(m) else math.inf) for m in self.metrics()}
            return Record(trial.arch_key, {**worst, "failed": 1.0}, trial.seconds or 0.0)
        return Record(trial.arch_key, {**trial.metrics, "failed": 0.0}, trial.seconds)

    def describe(self, dataset: str | None = None) -> dict[str, Any]:
        info = super().describe(dataset)
        info["trials"] = self.pool.store.describe()
        return info
