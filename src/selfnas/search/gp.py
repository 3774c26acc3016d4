"""An exact Gaussian process on embeddings: BoTorch's `SingleTaskGP` with its default ARD
kernel and priors, inputs normalised to the unit cube and outputs standardised, fitted by
marginal likelihood.

BoTorch's default of 500 L-BFGS iterations per fit made a 300-query search take minutes per
seed; 50 (`fit_iters`) changes the fitted lengthscales little.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class GaussianProcess:
    """Fit on (X [n, d], y [n]); `predict` gives the posterior mean and std."""

    def __init__(self, fit_iters: int = 50) -> None:
        self.fit_iters = fit_iters
        self.model: Any = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """A new GP on (x, y), its hyperparameters fitted by marginal likelihood."""
        import torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms import Normalize, Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood

        tx = torch.as_tensor(x, dtype=torch.float64)
        ty = torch.as_tensor(y, dtype=torch.float64).unsqueeze(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SingleTaskGP(
                tx,
                ty,
                input_transform=Normalize(tx.shape[1]),
                outcome_transform=Standardize(1),
            )
            fit_gpytorch_mll(
                ExactMarginalLogLikelihood(model.likelihood, model),
                optimizer_kwargs={"options": {"maxiter": self.fit_iters}},
            )
        model.eval()
        self.model = model
        return self

    def predict(self, x: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (in the units of the training y), in
        chunks: the posterior builds a chunk x chunk covariance."""
        import torch
        from gpytorch.settings import fast_pred_var

        means, stds = [], []
        with torch.no_grad(), fast_pred_var():
            for start in range(0, len(x), chunk):
                part = torch.as_tensor(x[start : start + chunk], dtype=torch.float64)
                post = self.model.posterior(part)
                means.append(post.mean.squeeze(-1).numpy())
                stds.append(post.variance.clamp_min(1e-12).sqrt().squeeze(-1).numpy())
        return np.concatenate(means), np.concatenate(stds)
