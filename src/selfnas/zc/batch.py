"""The one mini-batch a zero-cost proxy scores a network on.

NASLib computes every proxy on a single batch (32 CIFAR images, normalised); `Batch` holds
that batch with the input shape and class count the network was built for. Images of
another dataset are resized and given the network's channel count so any image set can
stand in, and `noise_batch` gives Gaussian inputs for the data-free proxies (which read
only the shape and batch size) or where no images are at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from selfnas.errors import InvalidOption
from selfnas.nets import InputShape

#: NAS-Bench-Suite-Zero's batch size: its NB201 jacov scores reach -32.23, and jacov
#: (-sum(log v + 1/v) over a B x B correlation matrix's eigenvalues) never exceeds -B
DEFAULT_BATCH_SIZE = 32
#: images the normalisation statistics are taken from (the set's first ones)
STATS_IMAGES = 2048


@dataclass(frozen=True)
class Batch:
    """Inputs float [B, C, H, W] (normalised), integer targets [B] or None, the network's
    input shape and class count, and the seed of a proxy's own random draws (zen)."""

    inputs: Tensor
    targets: Tensor | None
    shape: InputShape
    num_classes: int
    seed: int = 0

    def __post_init__(self) -> None:
        size = (self.shape.channels, self.shape.size, self.shape.size)
        if self.inputs.dim() != 4 or tuple(self.inputs.shape[1:]) != size:
            raise InvalidOption(
                f"batch inputs of shape {tuple(self.inputs.shape)} do not fit the network's "
                f"input [B, {size[0]}, {size[1]}, {size[2]}]"
            )
        if self.targets is not None and self.targets.shape != self.inputs.shape[:1]:
            raise InvalidOption("batch targets must hold one label per input")

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on `device` (itself when already there)."""
        if self.inputs.device == torch.device(device):
            return self
        targets = None if self.targets is None else self.targets.to(device)
        return replace(self, inputs=self.inputs.to(device), targets=targets)


def noise_batch(
    shape: InputShape, size: int = DEFAULT_BATCH_SIZE, seed: int = 0, labels: bool = True
) -> Batch:
    """Standard-normal inputs (what a normalised image looks like to the first layer) with
    uniform random labels, or none: enough for every proxy, no dataset needed."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(size, shape.channels, shape.size, shape.size, generator=gen)
    targets = torch.randint(0, shape.classes, (size,), generator=gen) if labels else None
    return Batch(inputs, targets, shape, shape.classes, seed)


def fit_images(images: Tensor, shape: InputShape) -> Tensor:
    """uint8 (or [0, 1] float) images [N, C, H, W] as floats in [0, 1] with the network's
    channels (grey replicated, colour averaged to grey) and side (bilinear resize)."""
    x = images.float().div(255.0) if images.dtype == torch.uint8 else images.float()
    if x.shape[1] != shape.channels:
        x = x.mean(dim=1, keepdim=True).expand(-1, shape.channels, -1, -1)
    if x.shape[2:] != (shape.size, shape.size):
        x = F.interpolate(x, size=(shape.size, shape.size), mode="bilinear", align_corners=False)
    return x.contiguous()


def image_batch(
    images: Tensor,
    labels: Tensor,
    shape: InputShape,
    size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
) -> Batch:
    """`size` images drawn with `seed` from a labelled set, fitted to `shape` and normalised
    per channel with the set's own statistics (as NASLib feeds normalised CIFAR); labels
    beyond the network's classes wrap around."""
    if len(images) < size:
        raise InvalidOption(f"need {size} images for a batch, the set has {len(images)}")
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(images), generator=gen)[:size]
    x = fit_images(images[pick], shape)
    sample = fit_images(images[:STATS_IMAGES], shape)
    mean = sample.mean(dim=(0, 2, 3), keepdim=True)
    std = sample.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)
    targets = labels[pick].long() % shape.classes
    return Batch((x - mean) / std, targets, shape, shape.classes, seed)


def dataset_batch(
    name: str,
    shape: InputShape,
    size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    root: str | Path | None = None,
) -> Batch:
    """A batch of a named dataset's training images (`selfnas.oneshot.data` names), or of
    Gaussian noise for the name `noise`."""
    if name == "noise":
        return noise_batch(shape, size, seed)
    from selfnas.oneshot.data import load_dataset

    data = load_dataset(name, root=root)
    return image_batch(data.train_x, data.train_y, shape, size, seed)


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Batch",
    "dataset_batch",
    "fit_images",
    "image_batch",
    "noise_batch",
]
