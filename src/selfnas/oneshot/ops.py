"""The modules of the seven non-`none` DARTS operations, for the supernet and the network.

The op names and their order are the space's (`spaces.darts_genotype.DARTS_OPS`).

One constructor (`make_op`) serves both the search cell and the derived cell, so a kept
op's weights copy 1:1 (same module tree, same parameter names). Pooling is followed by a
non-affine BatchNorm (as in DARTS' search model) so its output scale matches the convs';
conv ops keep affine BatchNorm because their weights are preserved for fine-tuning.
DARTS' evaluation network (`selfnas.nets.darts`) pools without that BatchNorm
(`make_op(..., pool_bn=False)`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from selfnas.errors import InvalidOption
from selfnas.spaces.darts_genotype import DARTS_OPS


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class DilConv(nn.Sequential):
    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable convs (DARTS' `sep_conv`)."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, 1, padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing half the pixels: two offset 1x1 stride-2 convs."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def _pool(kind: str, c: int, stride: int, bn: bool = True) -> nn.Module:
    pool = (
        nn.MaxPool2d(3, stride=stride, padding=1)
        if kind == "max"
        else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    )
    return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if bn else pool


def make_op(name: str, c: int, stride: int, pool_bn: bool = True) -> nn.Module:
    """Build op `name` on `c` channels; stride 2 on a reduction cell's input edges.

    `pool_bn=False` builds the pools bare (no non-affine BatchNorm after them), as DARTS'
    evaluation network does; the supernet and its derived network keep the default."""
    if name == "max_pool_3x3":
        return _pool("max", c, stride, pool_bn)
    if name == "avg_pool_3x3":
        return _pool("avg", c, stride, pool_bn)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name == "sep_conv_3x3":
        return SepConv(c, 3, stride, 1)
    if name == "sep_conv_5x5":
        return SepConv(c, 5, stride, 2)
    if name == "dil_conv_3x3":
        return DilConv(c, 3, stride, 2, 2)
    if name == "dil_conv_5x5":
        return DilConv(c, 5, stride, 4, 2)
    raise InvalidOption(f"unknown DARTS op {name!r}; expected one of {', '.join(DARTS_OPS)}")
