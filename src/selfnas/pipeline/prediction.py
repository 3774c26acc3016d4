"""Predictor experiments: `selfnas predict` as a function.

Train a performance predictor on N labelled archs (from scratch, or from a pretraining
run's encoder) and rank every other arch; see `selfnas.predictors.experiment`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selfnas.predictors.data import Labelled
    from selfnas.predictors.experiment import PredictSpec


def labelled(
    space: str = "nb201",
    benchmark: str = "nb201",
    table: str | None = None,
    dataset: str | None = None,
    metric: str | None = None,
) -> Labelled:
    """Every arch of `space` with its benchmark value: what `predict` trains and ranks on."""
    from selfnas.predictors.data import load_labelled

    return load_labelled(space, benchmark, table, dataset, metric)


def predict(
    spec: PredictSpec,
    data: Labelled,
    device: Any = "cpu",
    on_seed: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every seed of `spec` on `data`: mean ± std of the ranking metrics over seeds, the
    held-out split's metrics, `per_seed` rows and the spec. `on_seed` sees each seed's row."""
    from selfnas.predictors.experiment import run
    from selfnas.runtime import select_device

    return run(spec, data, select_device(str(device)), on_seed=on_seed)
