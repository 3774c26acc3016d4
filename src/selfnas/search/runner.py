"""The one runner every strategy drives: budget, seeds in parallel, checkpoints, results.

Per seed: ask -> query each asked arch through the ledger (in order, until the budget
ends) -> tell the search-metric values -> checkpoint. The checkpoint holds the pickled
strategy (its own numpy Generator included), the ledger's records, the rows so far and
torch's RNG state, so a seed resumed after a crash or `kill -9` continues exactly where
the uninterrupted one would have.

Seeds (and strategies, in `compare`) are independent tasks on a process pool (forkserver
or spawn); each worker builds the problem once and uses one torch thread.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from selfnas.benchmarks.base import Ledger
from selfnas.benchmarks.table import higher_is_better
from selfnas.errors import InvalidOption
from selfnas.runs import RunDir
from selfnas.search.base import (
    SearchContext,
    Strategy,
    make_options,
    options_dict,
    strategy_class,
)
from selfnas.search.problem import Problem, ProblemSpec, build_problem

#: result columns, one row per distinct arch queried
COLUMNS = (
    "strategy",
    "seed",
    "step",
    "arch",
    "value",
    "test",
    "best_value",
    "best_test",
    "regret",
    "rank",
    "seconds",
)


@dataclass(frozen=True)
class Budget:
    """A search budget: distinct archs queried, and/or simulated training seconds."""

    queries: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.queries is None and self.seconds is None:
            raise InvalidOption("give a budget: --budget N (queries) or --budget-seconds T")
        if self.queries is not None and self.queries < 1:
            raise InvalidOption(f"--budget must be >= 1, got {self.queries}")
        if self.seconds is not None and self.seconds <= 0:
            raise InvalidOption(f"--budget-seconds must be > 0, got {self.seconds}")


class StrategyError(RuntimeError):
    """A strategy broke its contract (asked for an arch twice): a bug, never user error."""


def make_context(problem: Problem, cls: type[Strategy]) -> SearchContext:
    """The read-only context `cls` needs (loads embeddings where it uses them)."""
    spec = problem.spec
    embedding = spec.embedding if spec else None
    pretrained = spec.pretrained if spec else None
    embeddings = None
    if cls.needs_embeddings:
        from selfnas.search.candidates import candidates_for

        pool = spec.pool if spec else None
        mutants = spec.pool_mutants if spec else None
        try:
            embeddings = candidates_for(problem, embedding, pretrained, pool, mutants)
        except InvalidOption as exc:
            raise InvalidOption(f"strategy {cls.name!r}: {exc}") from None
    if cls.needs_pretrained and not pretrained:
        raise InvalidOption(f"strategy {cls.name!r} needs --pretrained DIR")
    warm = None
    if spec is not None and spec.warm_start:
        from selfnas.search.warm import load_warm_start

        warm = load_warm_start(spec.warm_start, problem.space, spec.warm_size, spec.warm_pool)
    return SearchContext(problem.space, problem, embeddings, pretrained, warm)


class SeedRun:
    """One (strategy, seed) search, resumable from its checkpoint."""

    def __init__(
        self,
        problem: Problem,
        strategy: str,
        options: dict[str, Any] | None,
        seed: int,
        budget: Budget,
        run_dir: RunDir | None = None,
        ctx: SearchContext | None = None,
    ) -> None:
        import torch

        self.problem = problem
        self.name = strategy
        self.seed = int(seed)
        self.budget = budget
        self.run_dir = run_dir
        cls = strategy_class(strategy)
        self.ctx = ctx or make_context(problem, cls)
        self.sign = 1.0 if higher_is_better(problem.metric) else -1.0
        self.ledger = Ledger(
            problem.benchmark, problem.dataset, problem.metric, budget.queries, budget.seconds
        )
        state = run_dir.load_checkpoint(strategy, self.seed) if run_dir else None
        if state is None:
            torch.manual_seed(self.seed)
            rng = np.random.default_rng(self.seed)
            self.strategy = cls(self.ctx, rng, make_options(cls, options))
            self.rows: list[tuple] = []
            self.best: tuple[float, float] | None = None  # (signed value, test)
        else:
            self._restore(state)
        self.repeats = 0

    # --- checkpoint ---------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        import torch

        return {
            "strategy": self.strategy,
            "records": self.ledger.records,
            "order": self.ledger.order,
            "seconds": self.ledger.seconds,
            "rows": self.rows,
            "best": self.best,
            "torch_rng": torch.get_rng_state(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        import torch

        self.strategy = state["strategy"]
        self.strategy.attach(self.ctx)
        self.ledger.records = state["records"]
        self.ledger.order = state["order"]
        self.ledger.seconds = state["seconds"]
        self.rows = state["rows"]
        self.best = state["best"]
        torch.set_rng_state(state["torch_rng"])

    # --- the loop -----------------------------------------------------------------------
    def step(self) -> bool:
        """One ask/query/tell round; False when the budget or the space is spent."""
        if self.ledger.exhausted():
            return False
        archs = self.strategy.ask()
        if not archs:
            return False
        keys = [self.ledger.benchmark.key(a) for a in archs]
        if len(set(keys)) != len(keys) or any(k in self.ledger.records for k in keys):
            raise StrategyError(f"strategy {self.name!r} asked for an arch it already had")
        told: list[Hashable] = []
        values: list[float] = []
        affordable = archs
        if self.budget.queries is not None:
            affordable = archs[: max(0, self.budget.queries - self.ledger.queries)]
        self.ledger.benchmark.prefetch(affordable)
        for arch in archs:
            if self.ledger.exhausted():
                break
            record = self.ledger.query(arch)
            if record.seconds is None and self.budget.seconds is not None:
                raise InvalidOption(
                    f"benchmark {self.problem.benchmark.name!r} reports no training seconds; "
                    "use --budget (queries) instead of --budget-seconds"
                )
            value = self.problem.search_value(record)
            self._row(arch, record, value)
            told.append(arch)
            values.append(self.sign * value)
        self.strategy.tell(told, values)
        if self.run_dir is not None:
            self.run_dir.save_checkpoint(self.name, self.seed, self._state())
        return not self.ledger.exhausted()

    def _row(self, arch: Hashable, record, value: float) -> None:
        test = self.problem.test_value(arch, record)
        signed = self.sign * value
        if self.best is None or signed > self.best[0]:
            self.best = (signed, test)
        best_value = self.sign * self.best[0]
        best_test = self.best[1]
        optimum = self.problem.optimum
        self.rows.append(
            (
                self.name,
                self.seed,
                self.ledger.queries,
                record.key,
                value,
                test,
                best_value,
                best_test,
                optimum - best_test,
                self.problem.rank(best_test),
                self.ledger.seconds,
            )
        )

    def run(self, on_tell: Callable[[SeedRun], None] | None = None) -> pd.DataFrame:
        """Run to the end of the budget; return (and store) this seed's rows."""
        while self.step():
            if on_tell is not None:
                on_tell(self)
        frame = self.frame()
        if self.run_dir is not None:
            self.run_dir.finish_seed(self.name, self.seed, frame, self.strategy.report())
        return frame

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=list(COLUMNS))
        return frame.astype({"seed": "int64", "step": "int64", "rank": "int64"})


# --- many seeds, many strategies ---------------------------------------------------------
@dataclass(frozen=True)
class Task:
    strategy: str
    seed: int


def run_config(
    spec: ProblemSpec, budget: Budget, strategies: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What a run directory records (and checks on resume)."""
    return {
        "problem": spec.to_dict(),
        "budget": {"queries": budget.queries, "seconds": budget.seconds},
        "strategies": {
            name: options_dict(make_options(strategy_class(name), opts))
            for name, opts in strategies.items()
        },
    }


def _worker_init() -> None:
    from selfnas.runtime import configure_threads

    configure_threads(1)


def _single_threaded():
    """One BLAS thread: the small matrices here are slower with more, and results are
    then identical whether a seed runs in a worker or in the main process."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _run_task(
    spec: ProblemSpec,
    task: Task,
    options: dict[str, Any],
    budget: Budget,
    root: str,
) -> tuple[Task, float]:
    start = time.perf_counter()
    _worker_init()
    problem = build_problem(spec)
    with _single_threaded():
        SeedRun(problem, task.strategy, options, task.seed, budget, RunDir(root)).run()
    return task, time.perf_counter() - start


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    spec: ProblemSpec,
    strategies: dict[str, dict[str, Any]],
    seeds: Sequence[int],
    budget: Budget,
    out: str | os.PathLike[str],
    workers: int | None = None,
    describe: str = "search",
    seeds_for: dict[str, int] | None = None,
    backend: str = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Run every (strategy, seed) not yet finished in `out`; return all their rows.

    `backend="ray"` runs each (strategy, seed) as a Ray task (on a local instance, or the
    cluster at `address`) instead of a local process pool; `out` must then be a folder
    every Ray node can write (a shared file system), since each seed checkpoints there.

    `seeds_for` gives some strategies only the first K of `seeds` (the expensive ones,
    where CPU is short); every strategy still shares the same seed numbers. The problem
    is built here first, so a bad option fails before any worker starts."""
    from selfnas.progress import progress_bar

    run_dir = RunDir(Path(out))
    run_dir.ensure_config(run_config(spec, budget, strategies))
    problem = build_problem(spec)
    for name in strategies:
        make_context(problem, strategy_class(name))
    seeds = list(seeds)
    limits = dict(seeds_for or {})
    unknown = sorted(set(limits) - set(strategies))
    if unknown or any(k < 1 for k in limits.values()):
        raise InvalidOption(
            f"seeds per strategy {limits}: names must be among {', '.join(strategies)} "
            "and counts >= 1"
        )
    tasks = [
        Task(name, int(seed))
        for name in strategies
        for seed in seeds[: limits.get(name, len(seeds))]
    ]
    todo = [t for t in tasks if not run_dir.seed_done(t.strategy, t.seed)]
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise InvalidOption(f"--workers must be >= 1, got {workers}")
    if backend not in ("local", "ray"):
        raise InvalidOption(f"unknown backend {backend!r}; choose local or ray")
    with progress_bar() as bar:
        job = bar.add_task(describe, total=len(tasks), info="")
        bar.advance(job, len(tasks) - len(todo))
        if backend == "ray" and len(todo) > 1:
            # a seed that trains only dispatches trials (themselves Ray tasks with their own
            # resources), so it holds no CPU; a lookup seed computes, so it holds one
            cpus = 1.0 if problem.benchmark.tabular else 0.0
            _run_ray(spec, strategies, todo, budget, str(out), address, cpus, bar, job)
        elif workers == 1 or len(todo) <= 1:  # here, so a trial progress bar shows
            for task in todo:
                _run_task(spec, task, strategies[task.strategy], budget, str(out))
                bar.update(job, advance=1, info=f"{task.strategy} seed {task.seed}")
        else:
            _run_pool(spec, strategies, todo, budget, str(out), workers, bar, job)
    frame = run_dir.collect((t.strategy, t.seed) for t in tasks)
    run_dir.write_results(frame)
    return frame


def _run_ray(spec, strategies, todo, budget, out, address, cpus, bar, job) -> None:
    """Each (strategy, seed) as one Ray task; results land in `out` as with the pool."""
    from selfnas.trials.backends import connect_ray, import_ray

    ray = import_ray()
    connect_ray(address)
    remote = ray.remote(_run_task).options(num_cpus=cpus, max_retries=0)
    pending = {remote.remote(spec, t, strategies[t.strategy], budget, out): t for t in todo}
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            pending.pop(ref)
            task, _ = ray.get(ref)
            bar.update(job, advance=1, info=f"{task.strategy} seed {task.seed}")
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise


def _run_pool(spec, strategies, todo, budget, out, workers, bar, job) -> None:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context, initializer=_worker_init
    ) as pool:
        pending = {
            pool.submit(_run_task, spec, t, strategies[t.strategy], budget, out) for t in todo
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task, _ = future.result()
                    bar.update(job, advance=1, info=f"{task.strategy} seed {task.seed}")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
