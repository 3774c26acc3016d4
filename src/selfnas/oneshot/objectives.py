"""Search objectives: SimCLR (InfoNCE over two augmented views) and supervised CE.

Both take a raw uint8 batch and a model and return a scalar loss, so the search loop does
not care which one it runs. Under `torch.distributed`, InfoNCE gathers the embeddings of
all ranks (with gradients) so its negatives are those of the combined batch, and each rank
averages over its own anchors: averaging gradients over ranks then equals one process on
the combined batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.oneshot.augment import Normalize, to_unit


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
