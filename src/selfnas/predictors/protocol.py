"""The one interface of a performance predictor, as searches see it.

A model-based search (BO's acquisition, GATES-EA's screening, NAO's ranking of decoded
archs) needs only two things from its surrogate: learn from the archs measured so far and
score candidates. `ArchPredictor` is that contract, so DNGO or a GP on pretrained
embeddings, a GATES ranker and NAO's controller are interchangeable, and a user can hand a
search any model that fits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from selfnas.spaces.base import Arch


@dataclass(frozen=True)
class Prediction:
    """Per-arch predictions: `mean` [N] (higher = predicted better; in the units of the
    training targets for regressors, an arbitrary score for rankers) and, for models with
    an uncertainty, the predictive standard deviation `std` [N]."""

    mean: np.ndarray
    std: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.mean)


@runtime_checkable
class ArchPredictor(Protocol):
    """A model of arch -> performance, fitted on measured archs."""

    def fit(self, archs: Sequence[Arch], y: np.ndarray) -> None:
        """Learn from `archs` and their measured performance `y` [N] (higher = better)."""
        ...

    def predict(self, archs: Sequence[Arch]) -> Prediction:
        """Predictions for `archs`, in order."""
        ...
