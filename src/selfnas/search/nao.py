"""NAO with a self-supervised controller (Luo et al., 2018; Choi et al., 2020).

The controller (encoder, decoder, predictor: `selfnas.pretrain.nao.NAOController`) starts
from a `selfnas pretrain nao|locality` run (`--pretrained DIR`, or the option
`controller=DIR`) or, without one, from a fresh initialisation. The search, as NAO and
SemiNAS publish it:

1. queries `init` (128) random archs (the published protocol: these are never counted as
   filled);
2. each outer epoch, trains the controller on the (arch, accuracy) pool with
   `lam * MSE(predictor, accuracy) + (1 - lam) * NLL(reconstruction)` (lam 0.5, SGD lr 0.1,
   gradient clipping 5; accuracies min-max scaled to [0, 1] as the predictor ends in a
   sigmoid), for `train_epochs` passes;
3. takes the `seeds` (128) best archs of the pool and moves their token embeddings up the
   predictor's gradient with step size `k * step_size` for k = 1, 2, 3, ..., each from the
   original embedding, decoding after every k and keeping valid, never seen archs, until
   it has `per_epoch` new ones (SemiNAS: `while len(new_archs) < N: predict_lambda += 1`);
   where the last k overshoots, the ones the predictor likes best are kept;
4. asks those; stops after `epochs` (50) outer epochs or when the budget ends.

The published loop has no bound; here k stops at `max_steps` (1000), so that a controller
whose decodings have saturated (at large k every embedding tends to the normalised
gradient, so decoding stops changing) cannot spin forever, and earlier once
`INVALID_STEPS` (50) step sizes in a row decode no valid arch at all (an untrained
decoder, which would otherwise spend minutes per round on nothing). A round that reaches the bound
asks only the archs it found; one that found none at all retries once with the whole pool
as seeds, and if that finds none either, asks `per_epoch` random unseen archs (so a search
never stalls with budget left), counted as filled. With the option `fill="random"` (the
earlier behaviour, not NAO's) random unseen archs always complete a short round.

`self.rounds` records per outer epoch how many archs the ascent decoded, how many random
ones filled the round and `max_step`, the largest k at which the ascent found a new arch
(0 when it found none); `NAOSearch.report()` sums them. Step 2 and the ranking in step 3
go through `NAOPredictor`, the controller as an `ArchPredictor`. The controller's weights
and optimiser state are part of the checkpoint; the pretrained template is loaded once per
process and never pickled.
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


#: the ascent stops early once this many step sizes in a row decode no valid arch at all
#: (an untrained decoder decodes nothing valid at any step, and 1,000 steps of that cost
#: minutes per round). Steps that decode only already-seen archs never stop it: a
#: pretrained NB201 controller decodes its seeds' own archs for ~150 steps before new ones
INVALID_STEPS = 50


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
    #: largest multiple of `step_size` tried in the gradient ascent: a safety bound only
    #: (NAO's loop grows the step until it has `per_epoch` new archs); see the module doc
    max_steps: int = 1000
    step_size: float = 1.0
    #: what completes a round the ascent leaves short: "none" (NAO's: ask only what was
    #: found) or "random" (random unseen archs fill it to `per_epoch`)
    fill: str = "none"
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


#: the values of `NAOOptions.fill`
FILLS = ("none", "random")

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
    """NAO's search (see the module doc).

    `report()` gives the per-round decoded/filled counts; the search runner writes any
    strategy's `report()` into the run directory."""

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
        if o.fill not in FILLS:
            raise InvalidOption(
                f"nao option fill must be one of {', '.join(FILLS)}, got {o.fill!r}"
            )
        self.pool: list[tuple[Arch, float]] = []
        self.outer = 0
        self.weights: dict[str, torch.Tensor] | None = None
        self.opt_state: dict[str, Any] | None = None
        #: per outer epoch: {"round", "decoded", "filled", "max_step"} (see the module doc)
        self.rounds: list[dict[str, int]] = []
        super().__init__(ctx, rng, options)

    # --- the controller, rebuilt after a checkpoint is loaded ----------------------------
    def _setup(self) -> None:
        super()._setup()
        if not hasattr(self, "rounds"):  # a checkpoint written before rounds were kept
            self.rounds = []
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
        o = self.options
        new, step = self._propose(o.per_epoch, o.seeds)
        if not new and o.fill == "none" and o.seeds < len(self.pool):
            new, step = self._propose(o.per_epoch, len(self.pool))  # widen the seeds once
        filled: list[Arch] = []
        if o.fill == "random" or not new:
            filled = self.random_new(o.per_epoch - len(new))
        self.rounds.append(
            {"round": self.outer, "decoded": len(new), "filled": len(filled), "max_step": step}
        )
        return new + filled

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        if self.rounds and self.rounds[-1]["round"] == self.outer:
            last = self.rounds[-1]  # a round cut by the budget: count what was queried
            if last["decoded"] + last["filled"] > len(archs):
                last["decoded"] = min(last["decoded"], len(archs))
                last["filled"] = len(archs) - last["decoded"]
        self.pool.extend((a, float(v)) for a, v in zip(archs, values, strict=True))

    def report(self) -> dict[str, Any]:
        """`{"rounds": [...], "decoded": total, "filled": total}` over the outer epochs so
        far (the `init` random archs are in neither total)."""
        return {
            "rounds": [dict(r) for r in self.rounds],
            "decoded": sum(r["decoded"] for r in self.rounds),
            "filled": sum(r["filled"] for r in self.rounds),
        }

    # --- controller training -----------------------------------------------------------
    def _train(self) -> None:
        """One outer epoch's controller update on the whole pool."""
        y = np.array([v for _, v in self.pool], dtype=np.float64)
        self.predictor.fit([a for a, _ in self.pool], y)

    # --- proposing new archs by gradient ascent ---------------------------------------
    def _propose(self, wanted: int, seeds: int) -> tuple[list[Arch], int]:
        """Up to `wanted` new archs from the `seeds` best of the pool (marked as asked), and
        the largest step multiple at which a new one was found (0: none)."""
        o = self.options
        ctl = self.controller
        best = sorted(self.pool, key=lambda m: m[1], reverse=True)[:seeds]
        with torch.no_grad():
            outputs, _ = ctl.encode(self.ctx.space.batch([a for a, _ in best]))
        found: list[Arch] = []
        found_keys: set[str] = set()
        last = 0
        invalid_run = 0
        for k in range(1, o.max_steps + 1):
            moved = ctl.nao_step(outputs, k * o.step_size)
            with torch.no_grad():
                archs = ctl.decode(moved)
            invalid_run = invalid_run + 1 if all(a is None for a in archs) else 0
            if invalid_run >= INVALID_STEPS:  # a decoder that decodes nothing valid
                break
            for arch in archs:
                if arch is None or not self.is_new(arch):
                    continue
                key = self.key(arch)
                if key not in found_keys:
                    found_keys.add(key)
                    found.append(arch)
                    last = k
            if len(found) >= wanted:
                break
        if len(found) > wanted:  # the ones the predictor likes best
            score = self.predictor.predict(found).mean
            order = np.argsort(-score, kind="stable")[:wanted]
            found = [found[i] for i in order]
        return [self.mark(a) for a in found], last
