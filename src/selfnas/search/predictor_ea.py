"""GATES predictor-guided evolution (Ning et al., 2020, sec. 4.3): mutate the best archs
into many candidates, rank them with a predictor trained with a ranking loss, and query
only the top-k.

After `init` random archs, each round (re)trains a fresh predictor (GATES encoder + MLP
head, hinge ranking loss, `selfnas.predictors`) on every arch queried so far, mutates the
`parents` best archs into up to `candidates` never-queried archs (1 to `max_edits` random
edits each), scores them and asks the `k` best. With `--pretrained DIR` (or the option
`encoder_from=DIR`) the encoder starts from a pretraining run's encoder weights (when its
shape matches the predictor's).

The predictor is rebuilt from scratch every round from the strategy's own generator, so
a checkpoint needs nothing beyond the queried archs and the generator state. The screening
reads it only through `ArchPredictor` (`new_predictor()`), so a subclass can screen with
any predictor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from selfnas.errors import InvalidOption
from selfnas.predictors.model import Predictor
from selfnas.predictors.protocol import ArchPredictor
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext


@dataclass
class PredictorEAOptions(Options):
    #: random archs before the first predictor
    init: int = 16
    #: archs queried per round (the predictor's top-k)
    k: int = 8
    #: best archs mutated into candidates each round
    parents: int = 16
    #: candidates scored per round
    candidates: int = 512
    #: a candidate is 1 .. max_edits random edits of a parent
    max_edits: int = 2
    #: predictor: encoder, ranking loss, epochs, learning rate, head width
    encoder: str = "gates"
    loss: str = "hinge"
    epochs: int = 60
    lr: float = 1e-3
    hidden: int = 64
    #: pretraining run whose encoder the predictor starts from; "" takes the problem's
    #: `--pretrained`, "none" starts fresh (a `compare` may give rl/bo an arch2vec run and
    #: gates-ea another)
    encoder_from: str = ""


class PredictorEvolution(DiscreteStrategy):
    name = "gates-ea"
    options_class = PredictorEAOptions
    options: PredictorEAOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: PredictorEAOptions
    ) -> None:
        o = options
        if min(o.init, o.k, o.parents, o.candidates, o.max_edits, o.epochs) < 1 or o.init < 2:
            raise InvalidOption(
                "gates-ea needs init >= 2 and k, parents, candidates, max_edits, epochs >= 1"
            )
        super().__init__(ctx, rng, options)
        self.pool: list[tuple[Arch, float]] = []

    def ask(self) -> list[Arch]:
        if len(self.pool) < self.options.init:
            return self.random_new(self.options.init - len(self.pool))
        candidates = self._candidates()
        if not candidates:
            return self.random_new(self.options.k)
        predictor = self.new_predictor()
        archs = [a for a, _ in self.pool]
        predictor.fit(archs, np.array([v for _, v in self.pool], dtype=np.float64))
        scores = predictor.predict(candidates).mean
        top = np.argsort(-scores, kind="stable")[: self.options.k]
        return [self.mark(candidates[i]) for i in top]

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        self.pool.extend((a, float(v)) for a, v in zip(archs, values, strict=True))

    def _candidates(self) -> list[Arch]:
        """Never-queried mutants of the best archs, distinct, in generation order."""
        o = self.options
        space = self.ctx.space
        parents = [a for a, _ in sorted(self.pool, key=lambda m: m[1], reverse=True)]
        parents = parents[: o.parents]
        out: list[Arch] = []
        keys: set[str] = set()
        for _ in range(4 * o.candidates):
            if len(out) >= o.candidates:
                break
            parent = parents[int(self.rng.integers(len(parents)))]
            edits = int(self.rng.integers(1, o.max_edits + 1))
            child = space.random_edit(parent, edits, self.rng)
            key = self.key(child)
            if key not in keys and key not in self.visited:
                keys.add(key)
                out.append(child)
        return out

    def network(self) -> Predictor:
        """A fresh GATES encoder + MLP head (the pretrained encoder's weights with
        `--pretrained`), initialised from this strategy's generator."""
        from selfnas.predictors.experiment import build_encoder, load_pretrained

        torch.manual_seed(int(self.rng.integers(2**62)))
        encoder = build_encoder(self.options.encoder, self.ctx.space)
        source = self.options.encoder_from or self.ctx.pretrained
        if source and source != "none":
            load_pretrained(encoder, source)
        hidden = (self.options.hidden, self.options.hidden)
        return Predictor(encoder, hidden=hidden, dropout=0.0)

    def new_predictor(self) -> ArchPredictor:
        """This round's screening predictor, unfitted: a fresh `network()` that `fit` trains
        with the ranking loss."""
        from selfnas.predictors.trainer import NeuralPredictor, TrainConfig

        o = self.options
        network = self.network()
        config = TrainConfig(loss=o.loss, epochs=o.epochs, lr=o.lr, batch_size=512)
        return NeuralPredictor(network, self.ctx.space, config, self.rng)
