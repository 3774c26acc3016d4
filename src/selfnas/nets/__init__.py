"""The benchmarks' own networks, built from an architecture of their space.

`build_network(space, arch, ...)` returns a plain `nn.Module` whose `forward(x)` gives
logits (a network with an auxiliary head returns `(logits, aux_logits)` in training
mode); its parameter count equals the benchmark's own network. Each space has one module
here with a `build(arch, shape, channels=None, cells=None, auxiliary=False)` function;
this dispatcher is the only place that knows which module serves which space.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from importlib import import_module

from torch import nn

from selfnas.errors import InvalidOption

#: space name -> module (under selfnas.nets) that builds its network
BUILDERS = {"nb201": "nb201", "nb101": "nb101", "darts": "darts", "nb301": "darts"}


@dataclass(frozen=True)
class InputShape:
    """What a network's stem and head depend on: image channels, side and class count."""

    channels: int
    size: int
    classes: int


#: shapes of the datasets a user names without loading them (`selfnas net info`)
DATASET_SHAPES: dict[str, InputShape] = {
    "cifar10": InputShape(3, 32, 10),
    "cifar100": InputShape(3, 32, 100),
    "imagenet16-120": InputShape(3, 16, 120),
    "imagenet": InputShape(3, 224, 1000),
    "mnist5k": InputShape(1, 28, 10),
    "animals10k": InputShape(1, 28, 10),
    "digits": InputShape(1, 8, 10),
}


def dataset_shape(name: str) -> InputShape:
    """The input shape of a named dataset (case-insensitive; `ImageNet16-120` accepted)."""
    shape = DATASET_SHAPES.get(name.lower())
    if shape is None:
        raise InvalidOption(
            f"unknown dataset {name!r} for a network's shape; choose one of "
            f"{', '.join(DATASET_SHAPES)}"
        )
    return shape


def build_network(
    space: str,
    arch: Hashable,
    shape: InputShape,
    channels: int | None = None,
    cells: int | None = None,
    auxiliary: bool = False,
) -> nn.Module:
    """The benchmark network of `arch` (an arch object of `space`) for inputs of `shape`.

    `channels` / `cells` override the space's default width and depth (None: the
    benchmark's own); `auxiliary` adds the DARTS auxiliary head where the space has one."""
    module = BUILDERS.get(space)
    if module is None:
        raise InvalidOption(
            f"no network builder for space {space!r}; choose one of {', '.join(BUILDERS)}"
        )
    builder = import_module(f"selfnas.nets.{module}")
    return builder.build(arch, shape, channels=channels, cells=cells, auxiliary=auxiliary)


def network_size(
    label: str, channels: int | None, cells: int | None, defaults: tuple[int, int]
) -> tuple[int, int]:
    """Width and depth of a network: the overrides given, else the benchmark's `defaults`;
    both must be positive (`label` names the network in the error)."""
    width = defaults[0] if channels is None else int(channels)
    depth = defaults[1] if cells is None else int(cells)
    if width < 1 or depth < 1:
        raise InvalidOption(f"{label} channels and cells must be positive, got {width}, {depth}")
    return width, depth


def count_parameters(network: nn.Module, auxiliary: bool = False) -> int:
    """Trainable parameters; the auxiliary head (module named `auxiliary`) is left out
    unless asked for, as the benchmarks count it."""
    return sum(
        p.numel()
        for name, p in network.named_parameters()
        if p.requires_grad and (auxiliary or not name.startswith("auxiliary"))
    )


__all__ = [
    "DATASET_SHAPES",
    "InputShape",
    "build_network",
    "count_parameters",
    "dataset_shape",
    "network_size",
]
