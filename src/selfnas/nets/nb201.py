"""The NAS-Bench-201 / NATS-Bench topology network, built so its size matches the benchmark.

The benchmark trains one fixed macro skeleton around the searched cell: a 3x3 stem, three
stages of N identical cells at C, 2C and 4C channels joined by residual stride-2 blocks,
and a BatchNorm-ReLU-pool-linear head. Every parametric op inside a cell is
ReLU-Conv(no bias)-BN(affine) and a cell never changes the channel count, so the pooling
op needs no 1x1 preprocessing; with these choices the parameter count equals the
benchmark's published `params` for every cell and dataset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.nets import network_size
from selfnas.spaces.nb201 import EDGES, NUM_CELL_NODES, NB201Cell

if TYPE_CHECKING:
    from selfnas.nets import InputShape

#: the benchmark's own width (stem and first stage channels) and cells per stage
DEFAULT_CHANNELS = 16
DEFAULT_CELLS = 5


class ReLUConvBN(nn.Sequential):
    """The benchmark's parametric op: pre-activation so cell outputs are BN-normalised."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )


class Zero(nn.Module):
    """The `none` op: an edge that contributes nothing (kept so gradients and shapes flow)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One cell edge op at stride 1 with equal input and output channels."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchitecture(f"unknown NB201 op {name!r}")


class NB201InferCell(nn.Module):
    """The fixed 4-node cell: node j sums op_{i->j}(node i) over i < j; node 3 is output."""

    def __init__(self, cell: NB201Cell, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in cell.ops)

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for dst in range(1, NUM_CELL_NODES):
            total: Tensor | None = None
            for e, (src, d) in enumerate(EDGES):
                if d != dst:
                    continue
                out = self.edges[e](nodes[src])
                total = out if total is None else total + out
            assert total is not None  # every node has at least one input edge
            nodes.append(total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """The stage transition: a ResNet basic block at stride 2 doubling the channels."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class NB201Network(nn.Module):
    """Stem, three stages of cells with residual reductions between them, and the head."""

    def __init__(
        self, cell: NB201Cell, in_channels: int, classes: int, channels: int, cells: int
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(NB201InferCell(cell, c) for _ in range(cells))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))


def build(
    arch: NB201Cell,
    shape: InputShape,
    channels: int | None = None,
    cells: int | None = None,
    auxiliary: bool = False,
) -> nn.Module:
    """The benchmark network of `arch` for inputs of `shape` (an `InputShape`).

    `channels` (default 16) and `cells` per stage (default 5) override the benchmark's
    width and depth; NB201 has no auxiliary head, so asking for one is an error."""
    if auxiliary:
        raise InvalidOption("NB201 has no auxiliary head")
    if not isinstance(arch, NB201Cell):
        raise InvalidArchitecture(f"not an NB201 cell: {arch!r}")
    channels, cells = network_size("NB201", channels, cells, (DEFAULT_CHANNELS, DEFAULT_CELLS))
    return NB201Network(arch, shape.channels, shape.classes, channels, cells)


__all__ = ["DEFAULT_CELLS", "DEFAULT_CHANNELS", "NB201Network", "build", "make_op"]
