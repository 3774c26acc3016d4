"""What one trial does: train the arch, or call the user's own `evaluate(arch)`.

An evaluator is a picklable callable that a backend ships to a worker (a Ray task or the
current process). It returns an `Outcome` or raises; the pool retries and records. Its
`key` names everything that decides the result besides the arch (the recipe), so the
trial store can tell a finished trial of this recipe from one of another.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfnas.errors import InvalidOption, TrainingFailed


@dataclass(frozen=True)
class Outcome:
    """A finished trial's metrics (accuracies in %) and its wall seconds."""

    metrics: dict[str, float]
    seconds: float | None = None


class Evaluator(ABC):
    """Turns an arch into an `Outcome` (raises on failure)."""

    #: metric names it reports; the first is the one a search maximises by default
    metrics: tuple[str, ...] = ()

    @property
    @abstractmethod
    def key(self) -> str:
        """A stable digest of everything but the arch that decides the outcome."""

    @abstractmethod
    def __call__(self, arch: Hashable, workdir: Path | None) -> Outcome:
        """Evaluate `arch`; `workdir` may hold checkpoints from an interrupted attempt."""


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class FunctionEvaluator(Evaluator):
    """The user's own `evaluate(arch) -> float | dict[str, float]`.

    A float is reported as metric `metric`; a dict must contain it. `name` keys the trial
    store (default: the function's qualified name), so change it when the function's
    meaning changes and stored results must not be reused."""

    def __init__(
        self, function: Callable[[Any], Any], metric: str = "score", name: str | None = None
    ) -> None:
        if not callable(function):
            raise InvalidOption(f"evaluate must be callable, got {type(function).__name__}")
        self.function = function
        self.metrics = (metric,)
        module = getattr(function, "__module__", "") or ""
        qualname = getattr(function, "__qualname__", type(function).__name__)
        self.name = name or f"{module}.{qualname}"

    @property
    def key(self) -> str:
        return _digest({"function": self.name, "metric": self.metrics[0]})

    def __call__(self, arch: Hashable, workdir: Path | None) -> Outcome:
        start = time.perf_counter()
        value = self.function(arch)
        seconds = time.perf_counter() - start
        metric = self.metrics[0]
        if isinstance(value, Mapping):
            if metric not in value:
                raise TrainingFailed(
                    f"evaluate returned keys {', '.join(map(str, value))}, not {metric!r}"
                )
            metrics = {str(k): float(v) for k, v in value.items()}
        else:
            try:
                metrics = {metric: float(value)}
            except (TypeError, ValueError):
                raise TrainingFailed(
                    f"evaluate returned {type(value).__name__}, expected a number or a dict"
                ) from None
        if not all(math.isfinite(v) for v in metrics.values()):
            raise TrainingFailed(f"evaluate returned a non-finite value: {metrics}")
        return Outcome(metrics, seconds)


@functools.lru_cache(maxsize=4)
def train_data(dataset: str, data_root: str | None, val_fraction: float) -> Any:
    """Each worker process loads a dataset once, however many trials it runs."""
    from selfnas.train.data import load_train_data

    return load_train_data(dataset, val_fraction, root=data_root)


class TrainingEvaluator(Evaluator):
    """Train the benchmark network of an arch with a recipe; report val/test accuracy."""

    metrics = ("val_accuracy", "test_accuracy", "params")

    def __init__(
        self,
        space: str,
        dataset: str,
        recipe: Any,
        device: str = "auto",
        seed: int = 0,
        channels: int | None = None,
        cells: int | None = None,
        data_root: str | None = None,
    ) -> None:
        self.space = space
        self.dataset = dataset
        self.recipe = recipe
        self.device = device
        self.seed = int(seed)
        self.channels = channels
        self.cells = cells
        self.data_root = data_root

    @property
    def key(self) -> str:
        # the device is left out: a result does not depend on where it was trained
        return _digest(
            {
                "space": self.space,
                "dataset": self.dataset,
                "recipe": self.recipe.key(),
                "seed": self.seed,
                "channels": self.channels,
                "cells": self.cells,
            }
        )

    def data(self) -> Any:
        """The dataset's three splits (loaded once per process; raises if missing)."""
        return train_data(self.dataset, self.data_root, self.recipe.val_fraction)

    def __call__(self, arch: Hashable, workdir: Path | None) -> Outcome:
        from selfnas.nets import build_network
        from selfnas.train.loop import train

        data = self.data()

        def network() -> Any:  # built under the trial's seed, so its init is reproducible
            return build_network(
                self.space,
                arch,
                data.shape,
                channels=self.channels,
                cells=self.cells,
                auxiliary=self.recipe.auxiliary_weight > 0,
            )

        result = train(
            network,
            data,
            self.recipe,
            device=self.device,
            seed=self.seed,
            checkpoint_dir=workdir,
        )
        if result.val_accuracy is None:
            raise InvalidOption("a search needs validation data: set the recipe's val_fraction > 0")
        metrics = {
            "val_accuracy": float(result.val_accuracy),
            "test_accuracy": float(result.test_accuracy),
            "params": float(result.params),
        }
        return Outcome(metrics, float(result.seconds))
