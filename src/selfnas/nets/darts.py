"""DARTS' evaluation network for CIFAR-size inputs (its `NetworkCIFAR`), from a `Genotype`.

Stem conv3x3 (image channels -> 3C) + BatchNorm, `cells` cells with reduction cells at
1/3 and 2/3 depth (channels doubled there), global average pooling and a linear
classifier. The cells are the one-shot package's `DerivedCell`s on its `MacroConfig`
layout, built with bare pools (`pool_bn=False`) as DARTS' evaluation network has them.

With `auxiliary=True` an auxiliary head (module `auxiliary`) reads the 2/3-depth cell's
output; in training mode `forward` then returns `(logits, aux_logits)`. Setting
`drop_path_prob` > 0 drops each non-identity edge's output per sample while training.

DARTS-V2 with 36 channels and 20 cells on 3x32x32 inputs and 10 classes has 3,349,342
parameters without the auxiliary head, as DARTS reports (3.3M).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.oneshot.network import DerivedCell, MacroConfig, make_stem
from selfnas.spaces.darts_genotype import NUM_NODES, Genotype

if TYPE_CHECKING:
    from selfnas.nets import InputShape

#: DARTS' CIFAR evaluation setting
DEFAULT_CHANNELS = 36
DEFAULT_CELLS = 20
STEM_MULTIPLIER = 3


class AuxiliaryPool(nn.Module):
    """DARTS' 5x5 stride-3 average pool (an 8x8 map -> 2x2); a map it would not take to
    2x2 (e.g. 7x7 from 28-pixel inputs) is pooled adaptively to 2x2 instead."""

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        if height >= 5 and width >= 5 and (height - 5) // 3 == 1 and (width - 5) // 3 == 1:
            return F.avg_pool2d(x, 5, stride=3, padding=0, count_include_pad=False)
        return F.adaptive_avg_pool2d(x, 2)


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary classifier on a cell output of `c` channels."""

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            AuxiliaryPool(),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


class DartsNetwork(nn.Module):
    """DARTS' evaluation network for one genotype (normal and reduce cell shared by all
    cells of their type)."""

    def __init__(
        self,
        genotype: Genotype,
        in_channels: int,
        classes: int,
        channels: int = DEFAULT_CHANNELS,
        cells: int = DEFAULT_CELLS,
        auxiliary: bool = False,
    ) -> None:
        super().__init__()
        if cells < 1:
            raise InvalidOption(f"a DARTS network needs at least one cell, got {cells}")
        if channels < 2 or channels % 2:
            raise InvalidOption(f"DARTS channels must be even and positive, got {channels}")
        self.genotype = genotype
        self.config = MacroConfig(
            cells=cells,
            channels=channels,
            in_channels=in_channels,
            stem_multiplier=STEM_MULTIPLIER,
        )
        self.drop_path_prob = 0.0
        normal, reduce = genotype.cell_genotypes
        self.stem = make_stem(self.config)
        layout = self.config.layout()
        self.cells = nn.ModuleList(
            DerivedCell.build(
                reduce if reduction else normal, c_pp, c_p, c, reduction_prev, pool_bn=False
            )
            for c_pp, c_p, c, reduction, reduction_prev in layout
        )
        #: index of the cell whose output feeds the auxiliary head (2/3 depth)
        self.auxiliary_index = 2 * cells // 3
        if auxiliary:
            self.auxiliary = AuxiliaryHead(NUM_NODES * layout[self.auxiliary_index][2], classes)
        self.has_auxiliary = auxiliary
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(self.config.feature_dim, classes)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        aux_logits = None
        s0 = s1 = self.stem(x)
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if index == self.auxiliary_index and self.has_auxiliary and self.training:
                aux_logits = self.auxiliary(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        if aux_logits is not None:
            return logits, aux_logits
        return logits


def build(
    arch: Genotype,
    shape: InputShape,
    channels: int | None = None,
    cells: int | None = None,
    auxiliary: bool = False,
) -> DartsNetwork:
    """DARTS' evaluation network of `arch` for inputs of `shape` (an `InputShape`);
    `channels` / `cells` default to DARTS' CIFAR setting (36, 20)."""
    if not isinstance(arch, Genotype):
        raise InvalidArchitecture(f"a DARTS network needs a Genotype, got {type(arch).__name__}")
    return DartsNetwork(
        arch,
        in_channels=shape.channels,
        classes=shape.classes,
        channels=DEFAULT_CHANNELS if channels is None else int(channels),
        cells=DEFAULT_CELLS if cells is None else int(cells),
        auxiliary=auxiliary,
    )


__all__ = ["AuxiliaryHead", "DartsNetwork", "build"]
