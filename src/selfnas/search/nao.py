"""NAO with a self-supervised controller (Luo et al., 2018; Choi et al., 2020).

The controller (encoder, decoder, predictor: `selfnas.pretrain.nao.NAOController`) starts
from a `selfnas pretrain nao|locality` run (`--pretrained DIR`, or the option
`controller=DIR`) or, without one, from a fresh initialisation. The search:

1. queries `init` (128) random archs;
2. each outer epoch, trains the controller on the (arch, accuracy) pool with
   `lam * MSE(predictor, accuracy) + (1 - lam) * NLL(reconstruction)` (lam 0.5, SGD lr 0.1,
   gradient clipping 5; accuracies min-max scaled to [0, 1] as the predictor ends in a
   sigmoid), for `train_epochs` passes;
3. takes the `seeds` (128) best archs of the pool, moves their token embeddings up the
   predictor's gradient with step sizes 1, 2, ... up to `max_steps` (100) times `step_size`,
   each from the original embedding (NAO's own schedule), decodes, and keeps valid, never
   seen archs until it has `per_epoch` new ones (the best-predicted first);
4. asks those; stops after `epochs` (50) outer epochs or when the budget ends.

Step 2 and the ranking in step 3 go through `NAOPredictor`, the controller as an
`ArchPredictor`. Where the ascent finds fewer new archs than asked, random unseen archs
fill the round, so a search never stalls. The controller's weights and optimiser state are
part of the checkpoint; the pretrained template is loaded once per process and never
pickled.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from selfnas.errors import InvalidOption
from selfnas.predictors.protocol import Prediction
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext
from selfnas.spaces.base import SearchSpace

if TYPE_CHECKING:
    from selfnas.pretrain.nao import NAOController


@dataclass
class NAOOptions(Options):
    #: random archs queried before the first controller update
    init: int = 128
    #: outer epochs (controller update + new archs) after the initial ones
    epochs: int = 50
    #: new archs asked per outer epoch
    per_epoch: int = 16
    #: best archs of the pool whose embeddings are moved
    seeds: int = 128
    #: largest multiple of `step_size` tried in the gradient ascent
    max_steps: int = 100
    step_size: float = 1.0
    #: weight of the predictor's MSE (1 - lam weighs the reconstruction NLL)
    lam: float = 0.5
    lr: float = 0.1
    grad_clip: float = 5.0
    #: passes over the pool per outer epoch, in batches of `batch_size`
    train_epochs: int = 30
    batch_size: int = 64
    #: pretrained controller run directory; overrides the problem's `--pretrained`, so a
    #: `compare` run can give NAO its controller without changing the shared problem
    controller: str = ""


_TEMPLATES: dict[str, Any] = {}


def pretrained_controller(directory: str) -> Any:
    """The NAO controller of a `selfnas pretrain nao|locality` run (loaded once per process)."""
    key = str(Path(directory).resolve())
    if key not in _TEMPLATES:
        from selfnas.runs.pretrain import load_run

        objective, _, config = load_run(Path(directory))
        controller = getattr(objective, "controller", None)
        if controller is None:
            raise InvalidOption(
                f"{directory} is a {config.get('objective')!r} run; nao needs a controller "
                "pretrained with `selfnas pretrain nao` or `selfnas pretrain locality`"
            )
        _TEMPLATES[key] = controller.cpu()
    return _TEMPLATES[key]


class NAOPredictor:
    """NAO's controller as an `ArchPredictor`.

    `fit` goes on training encoder, decoder and predictor together from their current
    weights (NAO's joint loss `lam * MSE + (1 - lam) * NLL`, targets min-max scaled to
    [0, 1] for the predictor's sigmoid) for `options.train_epochs` passes; `predict` is the
    predictor MLP on the encoder's arch embedding, mapped back to the units of `y`."""

    def __init__(
        self,
        controller: NAOController,
        space: SearchSpace,
        rng: np.random.Generator,
        options: NAOOptions,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        self.controller = controller
        self.space = space
        self.rng = rng
        self.options = options
        if optimizer is None:
            optimizer = torch.optim.SGD(controller.parameters(), lr=options.lr)
        self.optimizer = optimizer
        #: y = offset + scale * target, the map between y and the sigmoid's range
        self.offset, self.scale = 0.0, 1.0

    def _targets(self, y: np.ndarray) -> np.ndarray:
        lo, span = float(y.min()), float(y.max() - y.min())
        if span > 0:
            self.offset, self.scale = lo, span
            return (y - lo) / span
        self.offset, self.scale = lo - 0.5, 1.0
        return np.full_like(y, 0.5)

    def fit(self, archs: Sequence[Arch], y: np.ndarray) -> None:
        o = self.options
        ctl = self.controller
        ctl.train()
        tokens_all = ctl.layout.encode(self.space.batch(archs))
        targets = self._targets(np.asarray(y, dtype=np.float64))
        y_all = torch.as_tensor(targets, dtype=torch.float32)
        n = len(archs)
        for _ in range(o.train_epochs):
            order = torch.as_tensor(self.rng.permutation(n))
            for start in range(0, n, o.batch_size):
                idx = order[start : start + o.batch_size]
                tokens = tokens_all[idx]
                outputs, embedding = ctl.encoder.encode_tokens(tokens)
                mse = F.mse_loss(ctl.predict(embedding), y_all[idx])
                logp = ctl.decoder(tokens, embedding, outputs)
                nll = F.nll_loss(logp.reshape(-1, logp.shape[-1]), tokens.reshape(-1))
                loss = o.lam * mse + (1.0 - o.lam) * nll
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(ctl.parameters(), o.grad_clip)
                self.optimizer.step()
        ctl.eval()

    @torch.no_grad()
    def predict(self, archs: Sequence[Arch]) -> Prediction:
        _, embedding = self.controller.encode(self.space.batch(archs))
        score = self.controller.predict(embedding).cpu().numpy().astype(np.float64)
        return Prediction(self.offset + self.scale * score)


class NAOSearch(DiscreteStrategy):
    name = "nao"
    options_class = NAOOptions
    options: NAOOptions
    transient = ("controller", "optimizer", "predictor")

    def __init__(self, ctx: SearchContext, rng: np.random.Generator, options: NAOOptions) -> None:
        o = options
        if min(o.init, o.per_epoch, o.seeds, o.max_steps, o.train_epochs, o.batch_size) < 1:
            raise InvalidOption(
                "nao options init, per_epoch, seeds, max_steps, "
                "train_epochs and batch_size must be >= 1"
            )
        if not 0.0 <= o.lam <= 1.0:
            raise InvalidOption(f"nao needs 0 <= lam <= 1, got {o.lam}")
        self.pool: list[tuple[Arch, float]] = []
        self.outer = 0
        self.weights: dict[str, torch.Tensor] | None = None
        self.opt_state: dict[str, Any] | None = None
        super().__init__(ctx, rng, options)

    # --- the controller, rebuilt after a checkpoint is loaded ----------------------------
    def _setup(self) -> None:
        super()._setup()
        directory = self.options.controller or self.ctx.pretrained
        if directory:
            self.controller = copy.deepcopy(pretrained_controller(directory))
        else:
            from selfnas.pretrain.nao import NAOController

            self.controller = NAOController(self.ctx.space)
        if self.weights is not None:
            self.controller.load_state_dict(self.weights)
        self.optimizer = torch.optim.SGD(self.controller.parameters(), lr=self.options.lr)
        if self.opt_state is not None:
            self.optimizer.load_state_dict(self.opt_state)
        self.predictor = NAOPredictor(
            self.controller, self.ctx.space, self.rng, self.options, self.optimizer
        )

    def __getstate__(self) -> dict[str, Any]:
        self.weights = {k: v.detach().clone() for k, v in self.controller.state_dict().items()}
        self.opt_state = copy.deepcopy(self.optimizer.state_dict())
        return super().__getstate__()

    # --- ask / tell -------------------------------------------------------------------
    def ask(self) -> list[Arch]:
        if not self.pool:
            return self.random_new(self.options.init)
        if self.outer >= self.options.epochs:
            return []
        self.outer += 1
        self._train()
        new = self._propose(self.options.per_epoch)
        return new + self.random_new(self.options.per_epoch - len(new))

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        self.pool.extend((a, float(v)) for a, v in zip(archs, values, strict=True))

    # --- controller training -----------------------------------------------------------
    def _train(self) -> None:
        """One outer epoch's controller update on the whole pool."""
        y = np.array([v for _, v in self.pool], dtype=np.float64)
        self.predictor.fit([a for a, _ in self.pool], y)

    # --- proposing new archs by gradient ascent ---------------------------------------
    def _propose(self, wanted: int) -> list[Arch]:
        o = self.options
        ctl = self.controller
        best = sorted(self.pool, key=lambda m: m[1], reverse=True)[: o.seeds]
        with torch.no_grad():
            outputs, _ = ctl.encode(self.ctx.space.batch([a for a, _ in best]))
        found: list[Arch] = []
        found_keys: set[str] = set()
        for k in range(1, o.max_steps + 1):
            moved = ctl.nao_step(outputs, k * o.step_size)
            with torch.no_grad():
                archs = ctl.decode(moved)
            for arch in archs:
                if arch is None or not self.is_new(arch):
                    continue
                key = self.key(arch)
                if key not in found_keys:
                    found_keys.add(key)
                    found.append(arch)
            if len(found) >= wanted:
                break
        if len(found) > wanted:  # the ones the predictor likes best
            score = self.predictor.predict(found).mean
            order = np.argsort(-score, kind="stable")[:wanted]
            found = [found[i] for i in order]
        return [self.mark(a) for a in found]
