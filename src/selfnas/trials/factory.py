"""Build the `train` benchmark from plain options (what `--benchmark train` records).

The options are JSON-able, so the same benchmark is rebuilt in every worker process or Ray
task that runs a seed, and recorded in the run's `config.json` (a resumed run with other
training options is refused instead of mixing results).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfnas.errors import InvalidOption
from selfnas.trials.backends import make_backend
from selfnas.trials.benchmark import TrialBenchmark
from selfnas.trials.evaluators import TrainingEvaluator
from selfnas.trials.pool import TrialPool
from selfnas.trials.store import TrialStore

#: spaces whose networks selfnas can build and train
TRAINABLE_SPACES = ("nb201", "nb101", "darts")


def default_store() -> Path:
    """Trials persist across runs in the cache directory unless `--trials DIR` is given."""
    from selfnas.datadir import cache_dir

    return cache_dir() / "trials"


def _number(value: Any, cast: type, what: str) -> Any:
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise InvalidOption(f"{what}: expected {cast.__name__}, got {value!r}") from None


def training_benchmark(
    space: str = "nb201",
    dataset: str | None = None,
    epochs: int | str | None = None,
    recipe: dict[str, Any] | None = None,
    device: str = "auto",
    seed: int | str = 0,
    channels: int | str | None = None,
    cells: int | str | None = None,
    data_root: str | None = None,
    trials: str | None = None,
    backend: str = "inprocess",
    address: str | None = None,
    cpus_per_trial: float | str = 1,
    gpus_per_trial: float | str = 0,
    max_attempts: int | str = 3,
) -> TrialBenchmark:
    """The oracle that trains each queried arch of `space` on `dataset` for `epochs`."""
    from selfnas.spaces import get_space
    from selfnas.train.data import default_dataset
    from selfnas.train.recipes import recipe_for

    if space not in TRAINABLE_SPACES:
        raise InvalidOption(
            f"--benchmark train: no network builder for space {space!r}; choose one of "
            f"{', '.join(TRAINABLE_SPACES)}"
        )
    dataset = dataset or default_dataset(data_root)
    overrides = dict(recipe or {})
    if epochs is not None:
        overrides["epochs"] = _number(epochs, int, "--epochs")
    evaluator = TrainingEvaluator(
        space,
        dataset,
        recipe_for(space, **overrides),
        device=device,
        seed=_number(seed, int, "--train-seed"),
        channels=None if channels is None else _number(channels, int, "--channels"),
        cells=None if cells is None else _number(cells, int, "--cells"),
        data_root=data_root,
    )
    evaluator.data()  # a missing or malformed dataset fails here, before any trial starts
    space_obj = get_space(space)
    pool = TrialPool(
        evaluator,
        TrialStore(trials or default_store()),
        make_backend(
            backend,
            evaluator,
            address,
            _number(cpus_per_trial, float, "--cpus-per-trial"),
            _number(gpus_per_trial, float, "--gpus-per-trial"),
        ),
        max_attempts=_number(max_attempts, int, "--max-attempts"),
        describe=f"train {space} on {dataset}",
        format_arch=space_obj.format,
    )
    return TrialBenchmark(space_obj, pool, dataset)
