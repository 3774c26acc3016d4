"""arch2vec-BO: Bayesian optimisation over pretrained embeddings (Yan et al., 2020).

16 random archs first; then each round fits a surrogate on (embedding, accuracy) of every
arch queried so far, scores every not-yet-queried arch by expected improvement over the
best accuracy observed so far, and asks the top 5. Surrogates: DNGO (`bo`, as in the
paper) or an exact GP (`bo-gp`: BoTorch's `SingleTaskGP`, its default ARD kernel and priors,
fitted by marginal likelihood).

Expected improvement is ranked in log space (`log_expected_improvement`), so candidates
far below the incumbent still get distinct, ordered scores instead of an underflowed 0
(the published code's EI against a fixed target of 1.0, with the variance where the
standard deviation belongs, is 0 for almost every candidate).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import erfcx, log_ndtr

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, Options
from selfnas.search.embedded import EmbeddingStrategy

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log EI of maximising over `best`: log(std * (z Phi(z) + phi(z))), z = (mean-best)/std.

    Stable for very negative z: there z Phi(z) + phi(z) = phi(z) (1 - |z| r(|z|)) with the
    Mills ratio r(u) = sqrt(pi/2) erfcx(u / sqrt 2)."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    z = (mean - best) / std
    out = np.empty_like(z)
    pos = z >= -1.0
    zp = z[pos]
    out[pos] = np.log(zp * np.exp(log_ndtr(zp)) + np.exp(-0.5 * zp**2 - _LOG_SQRT_2PI))
    u = -z[~pos]
    mills = math.sqrt(math.pi / 2) * erfcx(u / math.sqrt(2))
    out[~pos] = -0.5 * u**2 - _LOG_SQRT_2PI + np.log1p(-np.minimum(u * mills, 1 - 1e-16))
    return out + np.log(std)


@dataclass
class BOOptions(Options):
    #: random archs before the first surrogate
    init: int = 16
    #: archs asked per round (top expected improvement)
    batch: int = 5
    #: DNGO: training epochs, hidden units, Adam learning rate, minibatch size
    epochs: int = 100
    hidden: int = 128
    lr: float = 1e-2
    batch_size: int = 10


@dataclass
class GPOptions(Options):
    init: int = 16
    batch: int = 5
    #: L-BFGS iterations of each marginal-likelihood fit (botorch's default of 500 made a
    #: 300-query search take minutes per seed; 50 changes the fitted lengthscales little)
    fit_iters: int = 50


class BayesOpt(EmbeddingStrategy):
    """Shared loop; subclasses give `predict(train_x, train_y, candidates) -> mean, std`."""

    def __init__(self, ctx, rng, options) -> None:
        if options.init < 1 or options.batch < 1:
            raise InvalidOption(f"{self.name} needs init >= 1 and batch >= 1")
        super().__init__(ctx, rng, options)
        self.rows: list[int] = []
        self.values: list[float] = []

    def ask(self) -> list[Arch]:
        if len(self.rows) < self.options.init:
            return self.take(self.random_rows(self.options.init - len(self.rows)))
        free = np.flatnonzero(~self.visited)
        if not len(free):
            return []
        y = np.asarray(self.values, dtype=np.float64)
        mean, std = self.predict(self.matrix[self.rows], y, self.matrix[free])
        score = log_expected_improvement(mean, std, float(y.max()))
        k = min(self.options.batch, len(free))
        top = np.argsort(-score, kind="stable")[:k]
        return self.take(free[top])

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=True):
            self.rows.append(self.row_of(arch))
            self.values.append(float(value))

    def predict(self, x: np.ndarray, y: np.ndarray, candidates: np.ndarray):
        raise NotImplementedError


class DNGOSearch(BayesOpt):
    name = "bo"
    options_class = BOOptions

    def predict(self, x, y, candidates):
        from selfnas.search.dngo import DNGO, DNGOConfig

        o = self.options
        model = DNGO(DNGOConfig(o.hidden, o.epochs, o.lr, o.batch_size), self.rng).fit(x, y)
        return model.predict(candidates)


class GPSearch(BayesOpt):
    name = "bo-gp"
    options_class = GPOptions

    def predict(self, x, y, candidates):
        import torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms import Normalize, Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood
        from gpytorch.settings import fast_pred_var

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
                optimizer_kwargs={"options": {"maxiter": self.options.fit_iters}},
            )
        model.eval()
        means, stds = [], []
        with torch.no_grad(), fast_pred_var():
            for start in range(0, len(candidates), 1024):  # posterior builds a chunk² matrix
                part = torch.as_tensor(candidates[start : start + 1024], dtype=torch.float64)
                post = model.posterior(part)
                means.append(post.mean.squeeze(-1).numpy())
                stds.append(post.variance.clamp_min(1e-12).sqrt().squeeze(-1).numpy())
        return np.concatenate(means), np.concatenate(stds)
