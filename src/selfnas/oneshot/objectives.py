"""Search objectives: SimCLR (InfoNCE over two augmented views), BYOL and supervised CE.

All take a raw uint8 batch and a model and return a scalar loss, so the search loop does
not care which one it runs. Under `torch.distributed`, InfoNCE gathers the embeddings of
all ranks (with gradients) so its negatives are those of the combined batch, and each rank
averages over its own anchors: averaging gradients over ranks then equals one process on
the combined batch.

BYOL (the SSWP-NAS paper's pilot, which it reports losing to SimCLR: 3.05 % vs 2.56 %
CIFAR-10 error) has state beyond the supernet: a predictor MLP, trained with the weights,
and an EMA target network. The search binds it to the supernet (`bind`), calls
`after_step` after every weight step and checkpoints its `state_dict`.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.oneshot.augment import Normalize, to_unit
from selfnas.oneshot.supernet import Supernet

BYOL_MOMENTUM = 0.996  # BYOL's base EMA momentum tau_base (tau rises to 1 by the last step)


def _gather(z: Tensor) -> tuple[Tensor, int]:
    """All ranks' rows of z (autograd-aware) and this rank's row offset."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z, 0
    from torch.distributed.nn.functional import all_gather

    parts = all_gather(z)
    return torch.cat(parts, dim=0), dist.get_rank() * z.shape[0]


def info_nce(z1: Tensor, z2: Tensor, temperature: float = 0.07) -> Tensor:
    """SimCLR's NT-Xent: view i's positive is view j(i); every other embedding is a negative."""
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    all1, offset = _gather(z1)
    all2, _ = _gather(z2)
    n, m = z1.shape[0], all1.shape[0]
    anchors = torch.cat([z1, z2], dim=0)
    candidates = torch.cat([all1, all2], dim=0)
    logits = anchors @ candidates.t() / temperature
    local = torch.arange(n, device=z1.device) + offset
    self_index = torch.cat([local, local + m])
    positive = torch.cat([local + m, local])
    rows = torch.arange(2 * n, device=z1.device)
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[rows, self_index] = True
    logits = logits.masked_fill(mask, float("-inf"))
    return F.cross_entropy(logits, positive)


class SimCLRObjective(nn.Module):
    """Two augmented views through the same sampled path, InfoNCE on the projections."""

    name = "simclr"

    def __init__(self, augment: nn.Module, normalize: Normalize, temperature: float = 0.07) -> None:
        super().__init__()
        self.augment, self.normalize, self.temperature = augment, normalize, temperature

    def forward(self, model: nn.Module, images: Tensor, labels: Tensor | None = None) -> Tensor:
        x = to_unit(images)
        views = torch.cat([self.augment(x), self.augment(x)], dim=0)
        z = model(self.normalize(views))
        z1, z2 = z.chunk(2, dim=0)
        return info_nce(z1, z2, self.temperature)


def byol_loss(p: Tensor, z: Tensor) -> Tensor:
    """One direction of BYOL's loss: the batch mean of 2 - 2 cos(p_i, z_i), which is the
    squared distance of the L2-normalised vectors (0 when aligned, 2 orthogonal, 4 opposite).
    `z` (the target's projection) gets no gradient."""
    p = F.normalize(p.float(), dim=1)
    z = F.normalize(z.detach().float(), dim=1)
    return (2 - 2 * (p * z).sum(dim=1)).mean()


def ema_momentum(step: int, total_steps: int, base: float = BYOL_MOMENTUM) -> float:
    """BYOL's EMA schedule tau_k = 1 - (1 - base) (cos(pi k / K) + 1) / 2: `base` at step 0,
    1 at step K (and after)."""
    progress = min(step / total_steps, 1.0) if total_steps > 0 else 1.0
    return 1.0 - (1.0 - base) * (math.cos(math.pi * progress) + 1.0) / 2.0


class BYOLObjective(nn.Module):
    """BYOL: the online network (the sampled supernet path, its projection head and a
    predictor MLP) regresses the target network's projection of the other view.

    The target is an EMA copy of the whole supernet (every op of every edge, since any of
    them may be sampled later); it runs *the online network's sampled path* of the step
    (same active op per edge, cells fixed as the online's are), in training mode, without
    gradient, with its own BN statistics. Its weights follow
    theta' <- tau theta' + (1 - tau) theta after each weight step (`after_step`), tau rising
    from `base_momentum` to 1 on a cosine over the search's weight steps. The loss is
    symmetrised: byol_loss(pred(online(v1)), target(v2)) + byol_loss(pred(online(v2)),
    target(v1)), each term in [0, 4].

    Under `torch.distributed` every rank holds the same online weights after each step
    (gradients are averaged), so every rank's EMA target stays identical without any
    communication; the predictor's BN uses this rank's batch only.
    """

    name = "byol"
    step: Tensor

    def __init__(
        self,
        augment: nn.Module,
        normalize: Normalize,
        base_momentum: float = BYOL_MOMENTUM,
        predictor_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.augment, self.normalize = augment, normalize
        self.base_momentum, self.predictor_hidden = base_momentum, predictor_hidden
        self.total_steps = 0
        self.predictor: nn.Module | None = None
        self.target: Supernet | None = None
        self.register_buffer("step", torch.zeros((), dtype=torch.long))  # EMA updates done

    def bind(self, model: Supernet, total_steps: int) -> None:
        """Build the predictor (`model.out_dim` -> hidden -> `model.out_dim`, BYOL's
        Linear-BN-ReLU-Linear; hidden 4x the projection) and the target, a copy of `model`;
        `total_steps` weight steps make the momentum schedule."""
        dim = model.out_dim
        hidden = self.predictor_hidden or 4 * dim
        device = next(model.parameters()).device
        self.predictor = nn.Sequential(
            nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim)
        ).to(device)
        paths = model._paths  # a path may hold gate tensors inside a graph: not deep-copyable
        model._paths = [None] * len(paths)
        try:
            target = copy.deepcopy(model)
        finally:
            model._paths = paths
        self.target = target.requires_grad_(False)
        self.total_steps = int(total_steps)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The predictor's weights: the search's weight optimiser trains them too."""
        return list(self._predictor().parameters())

    def _predictor(self) -> nn.Module:
        if self.predictor is None:
            raise RuntimeError("BYOLObjective.bind(model, total_steps) must come first")
        return self.predictor

    def _target(self, model: Supernet) -> Supernet:
        """The target with the online network's fixed cells (same genotypes) fixed too."""
        if self.target is None:
            raise RuntimeError("BYOLObjective.bind(model, total_steps) must come first")
        for index, genotype in enumerate(model.fixed):
            if genotype is not None and self.target.fixed[index] is None:
                self.target.fix_cell(index, genotype)
        return self.target

    def sync(self, model: Supernet) -> None:
        """Fix the target's cells as the online's are (before loading a checkpoint)."""
        self._target(model)

    def momentum(self) -> float:
        return ema_momentum(int(self.step), self.total_steps, self.base_momentum)

    def forward(self, model: nn.Module, images: Tensor, labels: Tensor | None = None) -> Tensor:
        online = _as_supernet(model)
        target = self._target(online)
        x = to_unit(images)
        views = self.normalize(torch.cat([self.augment(x), self.augment(x)], dim=0))
        p1, p2 = self._predictor()(online(views)).chunk(2, dim=0)
        target.train(online.training)
        target._paths = list(online._paths)  # this step's sampled path
        with torch.no_grad():
            z1, z2 = target(views).chunk(2, dim=0)
        return byol_loss(p1, z2) + byol_loss(p2, z1)

    @torch.no_grad()
    def after_step(self, model: nn.Module) -> None:
        """EMA update of the target after a weight step: theta' <- tau theta' + (1-tau) theta."""
        online = _as_supernet(model)
        target = self._target(online)
        tau = self.momentum()
        theirs, ours = target.weight_parameters(), online.weight_parameters()
        if len(theirs) != len(ours):
            raise RuntimeError("the BYOL target no longer matches the online supernet")
        for t, o in zip(theirs, ours, strict=True):
            t.lerp_(o.detach(), 1.0 - tau)
        self.step += 1


def _as_supernet(model: nn.Module) -> Supernet:
    if not isinstance(model, Supernet):
        raise TypeError(f"BYOL needs the search supernet, got {type(model).__name__}")
    return model


class SupervisedObjective(nn.Module):
    """Cross-entropy on one augmented view (the SL baseline of the paper's ablation)."""

    name = "supervised"

    def __init__(self, augment: nn.Module | None, normalize: Normalize) -> None:
        super().__init__()
        self.augment, self.normalize = augment, normalize

    def forward(self, model: nn.Module, images: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("the supervised objective needs labels")
        x = to_unit(images)
        if self.augment is not None:
            x = self.augment(x)
        return F.cross_entropy(model(self.normalize(x)), labels)
