"""Search with your own evaluation: `selfnas.optimize(evaluate, space=..., strategy=...)`.

Any training code becomes the oracle of every selfnas strategy: `evaluate(arch)` receives
an architecture object of the space (`selfnas.spaces.get_space(space)`; `space.format(arch)`
gives its text form, and `selfnas.nets.build_network(space, arch, shape)` the benchmark's
network for it) and returns a number, or a dict of numbers that contains `metric`. The
metric is maximised unless its name says it is a cost (`loss`, `regret`, `latency`,
`params`, `flops`, `seconds`, `time`).

The run resumes: with `out=DIR`, results of finished evaluations are kept in `DIR/trials`
and never computed again, and the strategy checkpoints after every round, so calling
`optimize` again after a crash continues where it stopped. `backend="ray"` runs each
round's evaluations in parallel as Ray tasks (`cpus_per_trial`, `gpus_per_trial`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from selfnas.benchmarks.table import higher_is_better
from selfnas.errors import InvalidOption
from selfnas.trials.store import Trial


@dataclass
class SearchResult:
    """What `optimize` found: the best arch, its value, and every evaluation in order."""

    best_arch: Hashable
    best_value: float
    metric: str
    history: pd.DataFrame  # one row per evaluation: step, arch (text), value, best_value
    trials: list[Trial]


def optimize(
    evaluate: Callable[[Any], float | Mapping[str, float]],
    space: str = "nb201",
    strategy: str = "re",
    budget: int = 50,
    seed: int = 0,
    metric: str = "score",
    out: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    embedding: str | None = None,
    pretrained: str | None = None,
    backend: str = "inprocess",
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_attempts: int = 3,
    name: str | None = None,
) -> SearchResult:
    """Search `space` with `strategy` for `budget` evaluations of `evaluate`.

    `options` are the strategy's (e.g. `{"population": 20}` for `re`); `embedding` and
    `pretrained` feed the strategies that need them (`bo`, `rl`, `nao`, `gates-ea`).
    `name` keys the stored results (default: the function's qualified name)."""
    from selfnas.search.problem import Problem, ProblemSpec
    from selfnas.search.runner import Budget, SeedRun
    from selfnas.spaces import get_space
    from selfnas.trials.backends import make_backend
    from selfnas.trials.benchmark import TrialBenchmark
    from selfnas.trials.evaluators import FunctionEvaluator
    from selfnas.trials.pool import TrialPool
    from selfnas.trials.store import TrialStore

    if backend not in ("inprocess", "ray"):
        raise InvalidOption(f"unknown backend {backend!r}; choose inprocess or ray")
    space_obj = get_space(space)
    evaluator = FunctionEvaluator(evaluate, metric, name)
    scratch = None
    if out is None:
        scratch = tempfile.TemporaryDirectory(prefix="selfnas-optimize-")
        root = Path(scratch.name)
    else:
        root = Path(out).expanduser()
    try:
        pool = TrialPool(
            evaluator,
            TrialStore(root / "trials"),
            make_backend(backend, evaluator, address, cpus_per_trial, gpus_per_trial),
            max_attempts=max_attempts,
            describe=f"evaluate ({strategy})",
            format_arch=space_obj.format,
        )
        benchmark = TrialBenchmark(space_obj, pool, dataset="custom")
        spec = ProblemSpec(
            benchmark="function",
            space=space,
            metric=metric,
            embedding=str(Path(embedding).resolve()) if embedding else None,
            pretrained=str(Path(pretrained).resolve()) if pretrained else None,
        )
        problem = Problem(space_obj, benchmark, metric=metric, spec=spec)
        from selfnas.runs import RunDir

        run_dir = RunDir(root) if out is not None else None
        run = SeedRun(problem, strategy, dict(options or {}), seed, Budget(budget), run_dir=run_dir)
        frame = run.run()
        return _result(frame, space_obj, metric, pool.store)
    finally:
        if scratch is not None:
            scratch.cleanup()


def _result(frame: pd.DataFrame, space: Any, metric: str, store: Any) -> SearchResult:
    if frame.empty:
        raise InvalidOption("the search evaluated nothing (is the budget >= 1?)")
    sign = 1.0 if higher_is_better(metric) else -1.0
    trials = {t.arch_key: t for t in store.all()}
    texts = [trials[key].arch if key in trials else key for key in frame["arch"]]
    history = pd.DataFrame(
        {
            "step": frame["step"].to_numpy(),
            "arch": texts,
            "value": frame["value"].to_numpy(),
            "best_value": frame["best_value"].to_numpy(),
        }
    )
    best = int((sign * history["value"]).to_numpy().argmax())
    return SearchResult(
        best_arch=space.parse(texts[best]),
        best_value=float(history["value"].iloc[best]),
        metric=metric,
        history=history,
        trials=[trials[k] for k in frame["arch"] if k in trials],
    )
