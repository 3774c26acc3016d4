"""arch2vec-BO: Bayesian optimisation over pretrained embeddings (Yan et al., 2020).

16 random archs first; then each round fits a surrogate on (embedding, accuracy) of
every arch queried so far, scores every not-yet-queried candidate by expected
improvement over the best accuracy observed so far, and asks the top 5. The candidates
are the whole space, or on a space too large to enumerate a pool the pretrained encoder
embeds, grown each round by mutations of the best archs (`selfnas.search.candidates`).
Surrogates: DNGO (`bo`, as in the paper) or an exact GP (`bo-gp`: `selfnas.search.gp`).
The loop reads its surrogate only through `ArchPredictor` (`surrogate()`), so a subclass
can search with any predictor; one without an uncertainty is ranked by its mean
(greedy).

Expected improvement is ranked in log space (`log_expected_improvement`), so candidates
far below the incumbent still get distinct, ordered scores instead of an underflowed 0
(the published code's EI against a fixed target of 1.0, with the variance where the
standard deviation belongs, is 0 for almost every candidate)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import erfcx, log_ndtr

from selfnas.errors import InvalidOption
from selfnas.predictors.protocol import ArchPredictor, Prediction
from selfnas.search.base import Arch, Options, SearchContext
from selfnas.search.embedded import EmbeddingStrategy
from selfnas.search.surrogates import EmbeddingPredictor

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


def acquisition(prediction: Prediction, best: float) -> np.ndarray:
    """Candidate scores, higher = ask first: log EI over `best`, or the mean itself for a
    predictor without an uncertainty (EI of a certain prediction orders by its mean)."""
    if prediction.std is None:
        return np.asarray(prediction.mean, dtype=np.float64)
    return log_expected_improvement(prediction.mean, prediction.std, best)


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
    """The shared loop; subclasses give the surrogate (`surrogate()`), a fresh
    `ArchPredictor` fitted on every arch queried so far each round."""

    options: BOOptions | GPOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: BOOptions | GPOptions
    ) -> None:
        if options.init < 1 or options.batch < 1:
            raise InvalidOption(f"{self.name} needs init >= 1 and batch >= 1")
        super().__init__(ctx, rng, options)
        self.rows: list[int] = []
        self.values: list[float] = []

    def surrogate(self) -> ArchPredictor:
        """A new, unfitted predictor for this round."""
        raise NotImplementedError

    def ask(self) -> list[Arch]:
        if len(self.rows) < self.options.init:
            return self.take(self.random_rows(self.options.init - len(self.rows)))
        self.grow_pool(self.rows, self.values)
        free = np.flatnonzero(~self.visited)
        if not len(free):
            return []
        y = np.asarray(self.values, dtype=np.float64)
        model = self.surrogate()
        model.fit(self.indexed(self.rows), y)
        score = acquisition(model.predict(self.indexed(free)), float(y.max()))
        k = min(self.options.batch, len(free))
        top = np.argsort(-score, kind="stable")[:k]
        return self.take(free[top])

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=True):
            self.rows.append(self.row_of(arch))
            self.values.append(float(value))


class DNGOSearch(BayesOpt):
    name = "bo"
    options_class = BOOptions
    options: BOOptions

    def surrogate(self) -> ArchPredictor:
        from selfnas.search.dngo import DNGO, DNGOConfig

        o = self.options
        dngo = DNGO(DNGOConfig(o.hidden, o.epochs, o.lr, o.batch_size), self.rng)
        return EmbeddingPredictor(self.arch_embeddings, dngo)


class GPSearch(BayesOpt):
    name = "bo-gp"
    options_class = GPOptions
    options: GPOptions

    def surrogate(self) -> ArchPredictor:
        from selfnas.search.gp import GaussianProcess

        return EmbeddingPredictor(self.arch_embeddings, GaussianProcess(self.options.fit_iters))
