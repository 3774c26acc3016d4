"""Torch runtime choices made deliberately: thread count, device, seeds.

Small graph models on a 2-core CPU are dominated by per-batch overhead, and two intra-op
threads contending with another process can be many times slower than one; so the thread
count is an explicit setting (default 1 on CPU) rather than torch's default.
"""

from __future__ import annotations

import os
import random

import numpy as np

DEFAULT_THREADS = int(os.environ.get("SELFNAS_THREADS", "1"))


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default `$SELFNAS_THREADS` or 1); returns the count."""
    import torch

    count = DEFAULT_THREADS if threads is None else int(threads)
    if count < 1:
        from selfnas.errors import InvalidOption

        raise InvalidOption(f"threads must be >= 1, got {count}")
    torch.set_num_threads(count)
    return count


def select_device(name: str | None = "auto"):
    """Resolve a device option: `auto` (cuda if available, else cpu), `cpu`, `cuda`, `cuda:N`."""
    import torch

    from selfnas.errors import InvalidOption

    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InvalidOption(f"unknown device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOption(f"device {name!r} requested but CUDA is not available here")
    return device


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy and torch; return a numpy Generator for explicit use."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
