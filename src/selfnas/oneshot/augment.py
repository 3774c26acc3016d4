"""Batch augmentations on the training device with kornia (SimCLR's views).

Whole batches are augmented at once on whatever device holds them; torchvision is not
needed (its PyPI wheels do not import beside the CPU torch used here). Colour jitter and
random greyscale apply to colour images only; flips are off by default because they change
the meaning of digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from selfnas.errors import InvalidOption

BLUR_SIGMA = (0.1, 2.0)  # SimCLR's Gaussian-blur sigma range


@dataclass(frozen=True)
class AugmentConfig:
    """SimCLR's view augmentations (a search run records every field)."""

    crop_scale: tuple[float, float] = (0.3, 1.0)
    flip: bool = False
    jitter: float = 0.4  # colour-jitter strength (colour images only; 0 disables)
    grayscale_p: float = 0.2  # colour images only
    blur_p: float = 0.5

    def __post_init__(self) -> None:
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise InvalidOption(
                f"crop scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}"
            )
        for name in ("grayscale_p", "blur_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidOption(f"{name} must be a probability, got {getattr(self, name)}")


def build_augment(size: tuple[int, int], channels: int, config: AugmentConfig) -> nn.Module:
    """A kornia pipeline mapping a float batch in [0, 1] to one random view per image."""
    import kornia.augmentation as K

    steps: list[K.AugmentationBase2D] = [K.RandomResizedCrop(size, scale=config.crop_scale)]
    if config.flip:
        steps.append(K.RandomHorizontalFlip())
    if channels == 3 and config.jitter > 0:
        s = config.jitter
        steps.append(K.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=0.8))
    if channels == 3 and config.grayscale_p > 0:
        steps.append(K.RandomGrayscale(p=config.grayscale_p))
    if config.blur_p > 0:
        kernel = 3 if min(size) < 48 else 2 * (min(size) // 20) + 1
        steps.append(K.RandomGaussianBlur((kernel, kernel), BLUR_SIGMA, p=config.blur_p))
    return K.AugmentationSequential(*steps)


class Normalize(nn.Module):
    """[0, 1] images -> standardised floats (per-channel dataset mean and std)."""

    mean: Tensor
    std: Tensor

    def __init__(
        self, mean: tuple[float, ...], std: tuple[float, ...], channels_last: bool = False
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = (x - self.mean) / self.std
        # channels-last lets oneDNN run the (depthwise) convs ~1.4x faster on CPU
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def to_unit(images: Tensor) -> Tensor:
    """uint8 [N, C, H, W] -> float in [0, 1]."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
