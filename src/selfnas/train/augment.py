"""Standard training augmentation as whole-batch tensor ops on the batch's own device.

Random crop with zero padding, horizontal flip and cutout, as the benchmarks trained
(torchvision's per-image transforms), but drawn for the whole batch at once from one
`torch.Generator`: no per-image Python loop, no host round trip, and a run is
reproducible from its seed. Padding is black before normalisation, as with torchvision;
cutout zeroes after normalisation, as in DARTS.

Flips are on by default for natural images (CIFAR, image folders) and off for the
grey-scale sets (`mnist5k`, `digits`, `animals10k`): a mirrored digit is another symbol
or none, and the animal silhouettes keep the one-shot pipeline's default (no flips) so
numbers from both pipelines compare.
"""

from __future__ import annotations

import torch
from torch import Tensor

from selfnas.oneshot.augment import to_unit

#: datasets whose meaning a horizontal mirror may change (flip off by default)
NO_FLIP_DATASETS = ("mnist5k", "digits", "animals10k")


def default_flip(dataset: str) -> bool:
    return dataset.lower() not in NO_FLIP_DATASETS


def default_padding(size: int) -> int:
    """4 pixels for 32-pixel images (the benchmarks' value), scaled for other sides."""
    return size // 8


def random_crop(x: Tensor, padding: int, generator: torch.Generator) -> Tensor:
    """Zero-pad by `padding` and crop back to the original side at a random offset."""
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # [N, H]
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # [N, W]
    rows = rows[:, None, :, None].expand(n, c, h, w + 2 * padding)
    x = padded.gather(2, rows)
    return x.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_flip(x: Tensor, generator: torch.Generator) -> Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: Tensor, length: int, generator: torch.Generator) -> Tensor:
    """Zero one `length`-sided square per image, centred anywhere (clipped at borders)."""
    if length <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=generator, device=x.device)
    cx = torch.randint(0, w, (n,), generator=generator, device=x.device)
    half = length // 2
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_rows = (rows >= (cy - half)[:, None]) & (rows < (cy + half)[:, None])  # [N, H]
    in_cols = (cols >= (cx - half)[:, None]) & (cols < (cx + half)[:, None])  # [N, W]
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


class BatchAugment:
    """uint8 batch -> normalised float batch; random ops only when training."""

    def __init__(
        self,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        padding: int,
        flip: bool,
        cutout: int,
        device: torch.device | str = "cpu",
    ) -> None:
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.padding = int(padding)
        self.flip = bool(flip)
        self.cutout = int(cutout)

    def normalise(self, images: Tensor) -> Tensor:
        """What evaluation sees: the training set's per-channel standardisation."""
        return (to_unit(images) - self.mean) / self.std

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        x = random_crop(to_unit(images), self.padding, generator)
        if self.flip:
            x = random_flip(x, generator)
        return cutout((x - self.mean) / self.std, self.cutout, generator)


__all__ = [
    "NO_FLIP_DATASETS",
    "BatchAugment",
    "cutout",
    "default_flip",
    "default_padding",
    "random_crop",
    "random_flip",
]
