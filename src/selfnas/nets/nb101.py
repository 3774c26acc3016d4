"""The NAS-Bench-101 network, built so its size matches the benchmark's trained models.

The benchmark trains one fixed skeleton around the searched cell: a 3x3 conv-BN-ReLU stem
(128 channels), three stacks of three cells, a 2x2 stride-2 max-pool before the second and
third stacks with the channel count doubled there, global average pooling and a dense
layer. Inside a cell the output channels are split among the vertices that feed the
output (their outputs are concatenated), interior vertices take the widest channel count
among their successors, the cell input reaches a vertex through a 1x1 conv-BN-ReLU
projection and an interior vertex reaches a narrower one by truncating its channels. Convs
have no bias (a BN follows each), BN has gamma and beta; with these rules the parameter
count equals the benchmark's `trainable_parameters` for every cell checked.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.nets import network_size
from selfnas.spaces.nb101_cell import CONV1X1, CONV3X3, MAXPOOL3X3, NB101Cell

#: the benchmark's stem width and cells per stack
DEFAULT_CHANNELS = 128
DEFAULT_CELLS = 3
NUM_STACKS = 3
#: TF's batch-norm decay 0.997 is PyTorch momentum 1 - 0.997; epsilon as the benchmark's
BN_MOMENTUM = 1.0 - 0.997
BN_EPSILON = 1e-5


class ConvBnReLU(nn.Sequential):
    """The benchmark's parametric unit; no conv bias, since the BN's beta would absorb it."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def make_op(name: str, channels: int) -> nn.Module:
    """One vertex op; its input already has `channels` channels (projected or truncated)."""
    if name == CONV3X3:
        return ConvBnReLU(channels, channels, 3)
    if name == CONV1X1:
        return ConvBnReLU(channels, channels, 1)
    if name == MAXPOOL3X3:
        # stride 1, 'same' padding: PyTorch pads max-pool with -inf, as TF does
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise InvalidArchitecture(f"unknown NB101 op {name!r}")


def vertex_channels(in_channels: int, out_channels: int, adjacency: np.ndarray) -> list[int]:
    """Output channels of every vertex, by the benchmark's split rule.

    The vertices feeding the output share `out_channels` evenly (the remainder goes one
    each to the first of them) so their concatenation has exactly `out_channels`; every
    other interior vertex takes the maximum over its interior successors, so that a
    successor only ever truncates it. Vertex 0 has `in_channels`."""
    matrix = np.asarray(adjacency, dtype=np.int64)
    n = matrix.shape[0]
    channels = [0] * n
    channels[0] = in_channels
    channels[n - 1] = out_channels
    if n == 2:
        return channels
    feeding = [v for v in range(1, n - 1) if matrix[v, n - 1]]
    share, remainder = divmod(out_channels, len(feeding))
    for i, v in enumerate(feeding):
        channels[v] = share + (1 if i < remainder else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            channels[v] = max((channels[d] for d in range(v + 1, n - 1) if matrix[v, d]), default=0)
    if min(channels[1 : n - 1]) < 1:
        raise InvalidOption(
            f"{out_channels} output channels cannot be split among {len(feeding)} vertices"
        )
    return channels


class NB101Module(nn.Module):
    """One cell: vertex t applies its op to the sum of its (projected/truncated) inputs."""

    def __init__(self, cell: NB101Cell, c_in: int, c_out: int) -> None:
        super().__init__()
        matrix = np.asarray(cell.adjacency, dtype=np.int64)
        n = matrix.shape[0]
        self.num_vertices = n
        self.channels = vertex_channels(c_in, c_out, matrix)
        #: per interior vertex t: interior sources (truncated), whether the input feeds t
        self.sources: list[list[int]] = [
            [s for s in range(1, t) if matrix[s, t]] for t in range(n - 1)
        ]
        self.from_input: list[bool] = [bool(matrix[0, t]) for t in range(n)]
        self.to_output: list[int] = [t for t in range(1, n - 1) if matrix[t, n - 1]]
        self.ops = nn.ModuleList(
            [nn.Identity()]
            + [make_op(cell.operations[t], self.channels[t]) for t in range(1, n - 1)]
        )
        # 1x1 projections of the cell input, keyed by the vertex they feed (n-1: output)
        self.projections = nn.ModuleDict(
            {
                str(t): ConvBnReLU(c_in, self.channels[t], 1)
                for t in range(1, n)
                if self.from_input[t]
            }
        )

    def forward(self, x: Tensor) -> Tensor:
        n = self.num_vertices
        values: list[Tensor] = [x]
        for t in range(1, n - 1):
            width = self.channels[t]
            terms = [values[s][:, :width] for s in self.sources[t]]
            if self.from_input[t]:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            values.append(self.ops[t](total))
        if not self.to_output:  # input wired straight to output, nothing in between
            return self.projections[str(n - 1)](x)
        parts = [values[t] for t in self.to_output]
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        if self.from_input[n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """Stem, three stacks of cells with max-pool downsampling between them, and the head."""

    def __init__(
        self, cell: NB101Cell, in_channels: int, classes: int, channels: int, cells: int
    ) -> None:
        super().__init__()
        self.stem = ConvBnReLU(in_channels, channels, 3)
        layers: list[nn.Module] = []
        c = channels
        for stack in range(NUM_STACKS):
            c_out = c
            if stack > 0:
                # ceil_mode: TF's 'same' pooling keeps the last row/column of odd sizes
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                c_out = 2 * c
            for _ in range(cells):
                layers.append(NB101Module(cell, c, c_out))
                c = c_out
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.cells(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def build(
    arch: NB101Cell,
    shape,
    channels: int | None = None,
    cells: int | None = None,
    auxiliary: bool = False,
) -> nn.Module:
    """The benchmark network of `arch` for inputs of `shape` (an `InputShape`).

    `channels` (stem width, default 128) and `cells` per stack (default 3) override the
    benchmark's width and depth; NB101 has no auxiliary head, so asking for one is an
    error."""
    if auxiliary:
        raise InvalidOption("NB101 has no auxiliary head")
    if not isinstance(arch, NB101Cell):
        raise InvalidArchitecture(f"not an NB101 cell: {arch!r}")
    channels, cells = network_size("NB101", channels, cells, (DEFAULT_CHANNELS, DEFAULT_CELLS))
    return NB101Network(arch, shape.channels, shape.classes, channels, cells)


__all__ = [
    "DEFAULT_CELLS",
    "DEFAULT_CHANNELS",
    "NB101Module",
    "NB101Network",
    "build",
    "make_op",
    "vertex_channels",
]
