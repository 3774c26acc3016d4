"""Training and scoring loops for predictors: full-batch tensors, no per-arch Python.

One epoch shuffles the training archs into batches of `batch_size` (512: one batch for the
small training sets NAS cares about); pairwise losses sample at most `pair_ratio * n`
pairs with different targets inside each batch (GATES's `max_compare_ratio` of 4).
`NeuralPredictor` puts the two loops behind the `ArchPredictor` interface searches use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from selfnas.errors import InvalidOption
from selfnas.predictors.losses import PAIRWISE, get_loss, sample_pairs
from selfnas.predictors.model import Predictor, make_inputs
from selfnas.predictors.protocol import Prediction
from selfnas.spaces.base import Arch, SearchSpace


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: GATES / issue 5)."""

    loss: str = "hinge"
    epochs: int = 200
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.0
    pair_ratio: float = 4.0
    freeze_encoder: bool = False
    grad_clip: float | None = 5.0
    #: `constant` or `cosine` (decay to 0 over the run, one step per epoch)
    schedule: str = "constant"

    def __post_init__(self) -> None:
        get_loss(self.loss)
        if self.schedule not in ("constant", "cosine"):
            raise InvalidOption(f"schedule must be constant or cosine, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 2:
            raise InvalidOption("epochs must be >= 1 and batch_size >= 2")


def _to(inputs: Any, device: torch.device) -> Any:
    return inputs.to(device) if hasattr(inputs, "to") else inputs


def train(
    predictor: Predictor,
    inputs: Any,
    targets: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Fit `predictor` on `inputs` (a sliceable batch) with true `targets`; returns the
    mean loss of each epoch."""
    device = torch.device(device)
    predictor.to(device)
    inputs = _to(inputs, device)
    targets = np.asarray(targets, dtype=np.float64)
    n = len(targets)
    if n < 2:
        raise InvalidOption("a predictor needs at least 2 training archs")
    # standardised targets: MSE sees unit scale; ranking losses only read the order
    scale = targets.std() or 1.0
    y_all = torch.as_tensor((targets - targets.mean()) / scale, dtype=torch.float32, device=device)
    loss_fn = get_loss(config.loss)
    pairwise = config.loss in PAIRWISE
    if config.freeze_encoder:
        for param in predictor.encoder.parameters():
            param.requires_grad_(False)
    params = [p for p in predictor.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs)
    history: list[float] = []
    predictor.train()
    if config.freeze_encoder:
        predictor.encoder.eval()
    for _ in range(config.epochs):
        order = rng.permutation(n)
        total, count = 0.0, 0
        for start in range(0, n, config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2:
                continue
            y = y_all[torch.as_tensor(index, device=device)]
            batch = inputs[index]
            pairs = torch.empty((0, 2), dtype=torch.long, device=device)  # none: pointwise loss
            if pairwise:
                found = sample_pairs(targets[index], int(config.pair_ratio * len(index)), rng)
                if len(found) == 0:
                    continue
                pairs = torch.as_tensor(found, device=device)
            if config.loss == "comparator":
                emb = predictor.embed(batch)
                loss = loss_fn(predictor.compare(emb, pairs), y, pairs)
            else:
                loss = loss_fn(predictor(batch), y, pairs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            total += float(loss.detach()) * len(index)
            count += len(index)
        history.append(total / max(count, 1))
        if scheduler is not None:
            scheduler.step()
    predictor.eval()
    return history


@torch.no_grad()
def score(
    predictor: Predictor,
    inputs: Any,
    reference: Any | None = None,
    device: torch.device | str = "cpu",
    chunk: int = 8192,
) -> np.ndarray:
    """Predicted scores for every arch in `inputs` (higher = better), in chunks.

    A comparator predictor ranks by mean win probability against `reference` archs
    (the training set)."""
    device = torch.device(device)
    predictor.to(device).eval()
    n = len(inputs)
    parts = []
    ref_emb = None
    if predictor.comparator is not None:
        if reference is None:
            raise InvalidOption("a comparator predictor needs reference archs to rank against")
        ref_emb = predictor.embed(_to(reference, device))
    for start in range(0, n, chunk):
        batch = _to(inputs[start : start + chunk], device)
        if ref_emb is not None:
            parts.append(predictor.comparator_scores(predictor.embed(batch), ref_emb))
        else:
            parts.append(predictor(batch))
    return torch.cat(parts).double().cpu().numpy()


class NeuralPredictor:
    """A `Predictor` module as an `ArchPredictor`: `fit` trains it (`train`, from its
    current weights) on the archs given, `predict` scores archs (`score`; a comparator
    ranks against the training archs). Scores order archs; they carry no uncertainty."""

    def __init__(
        self,
        model: Predictor,
        space: SearchSpace,
        config: TrainConfig,
        rng: np.random.Generator,
        device: torch.device | str = "cpu",
    ) -> None:
        self.model = model
        self.space = space
        self.config = config
        self.rng = rng
        self.device = device
        self.reference: Any = None
        self.history: list[float] = []

    def inputs(self, archs: Sequence[Arch]) -> Any:
        """The tensors the model's encoder reads for `archs`."""
        return make_inputs(self.model.encoder, self.space, archs)

    def fit(self, archs: Sequence[Arch], y: np.ndarray) -> None:
        self.reference = self.inputs(archs)
        self.history = train(self.model, self.reference, y, self.config, self.rng, self.device)

    def predict(self, archs: Sequence[Arch]) -> Prediction:
        return Prediction(score(self.model, self.inputs(archs), self.reference, self.device))
