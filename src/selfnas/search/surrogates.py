"""Surrogates on pretrained embeddings: a vector regressor (DNGO, a GP) that reads each
arch's embedding, wrapped as an `ArchPredictor` so a search never handles the matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from selfnas.predictors.protocol import Prediction
from selfnas.search.embeddings import ArchEmbeddings
from selfnas.spaces.base import Arch


class VectorRegressor(Protocol):
    """A regressor on feature vectors with an uncertainty (`DNGO`, `GaussianProcess`)."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> object:
        """Fit afresh on x [n, d], y [n]."""
        ...

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation, each [n]."""
        ...


class EmbeddingPredictor:
    """An `ArchPredictor` that regresses performance on each arch's pretrained embedding."""

    def __init__(self, embeddings: ArchEmbeddings, regressor: VectorRegressor) -> None:
        self.embeddings = embeddings
        self.regressor = regressor

    def fit(self, archs: Sequence[Arch], y: np.ndarray) -> None:
        self.regressor.fit(self.embeddings.vectors(archs), y)

    def predict(self, archs: Sequence[Arch]) -> Prediction:
        mean, std = self.regressor.predict(self.embeddings.vectors(archs))
        return Prediction(mean, std)
