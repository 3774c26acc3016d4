"""DARTS' evaluation network for CIFAR-size inputs (its `NetworkCIFAR`), from a `Genotype`.

Stem conv3x3 (image channels -> 3C) + BatchNorm, `cells` cells with reduction cells at
1/3 and 2/3 depth (channels doubled there), global average pooling and a linear
classifier. The cells are the one-shot package's `DerivedCell`s on its `MacroConfig`
layout, built with bare pools (`pool_bn=False`) as DARTS' evaluation network has them.

With `auxiliary=True` an auxiliary head (module `auxiliary`) reads the 2/3-depth cell's
output; in training mode `forward` then returns `(logits, aux_logits)`. Setting
`drop_path_prob` > 0 drops each non-identity edge's output per sample while training.

A one-shot (SSWP-NAS) search gives every cell its own genotype: `DartsNetwork` also takes
that per-cell list, and `pool_bn=True` keeps the search's non-affine BatchNorm after each
pool, so the searched network's weights load 1:1 (`selfnas.oneshot.final`);
`stem="imagenet"` puts DARTS' ImageNet reduction stem (`oneshot.network.MacroConfig`) in
front of the cells.

DARTS-V2 with 36 channels and 20 cells on 3x32x32 inputs and 10 classes has 3,349,342
parameters without the auxiliary head, as DARTS reports (3.3M).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.oneshot.network import DerivedCell, MacroConfig, make_stem, stem_states
from selfnas.spaces.darts_genotype import NUM_NODES, CellGenotype, Genotype

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
    cells of their type), or for one `CellGenotype` per cell (a one-shot search's result;
    each cell's type must match its position)."""

    def __init__(
        self,
        genotype: Genotype | Sequence[CellGenotype],
        in_channels: int,
        classes: int,
        channels: int = DEFAULT_CHANNELS,
        cells: int = DEFAULT_CELLS,
        auxiliary: bool = False,
        pool_bn: bool = False,
        stem: str = "cifar",
    ) -> None:
        super().__init__()
        if cells < 1:
            raise InvalidOption(f"a DARTS network needs at least one cell, got {cells}")
        if channels < 2 or channels % 2:
            raise InvalidOption(f"DARTS channels must be even and positive, got {channels}")
        self.config = MacroConfig(
            cells=cells,
            channels=channels,
            in_channels=in_channels,
            stem_multiplier=STEM_MULTIPLIER,
            stem=stem,
        )
        layout = self.config.layout()
        #: the shared genotype; None when built from per-cell genotypes
        self.genotype = genotype if isinstance(genotype, Genotype) else None
        self.cell_genotypes = _per_cell(genotype, [row[3] for row in layout])
        self.pool_bn = pool_bn
        self.drop_path_prob = 0.0
        self.stem = make_stem(self.config)
        self.cells = nn.ModuleList(
            DerivedCell.build(cell, c_pp, c_p, c, reduction_prev, pool_bn=pool_bn)
            for cell, (c_pp, c_p, c, _, reduction_prev) in zip(
                self.cell_genotypes, layout, strict=True
            )
        )
        #: index of the cell whose output feeds the auxiliary head (2/3 depth)
        self.auxiliary_index = 2 * cells // 3
        if auxiliary:
            self.auxiliary = AuxiliaryHead(NUM_NODES * layout[self.auxiliary_index][2], classes)
        self.has_auxiliary = auxiliary
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(self.config.feature_dim, classes)

    def _body(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        aux_logits = None
        s0, s1 = stem_states(self.stem, x)
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if index == self.auxiliary_index and self.has_auxiliary and self.training:
                aux_logits = self.auxiliary(s1)
        return self.global_pooling(s1).flatten(1), aux_logits

    def features(self, x: Tensor) -> Tensor:
        """The pooled features the classifier reads."""
        return self._body(x)[0]

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        features, aux_logits = self._body(x)
        logits = self.classifier(features)
        if aux_logits is not None:
            return logits, aux_logits
        return logits


def _per_cell(
    genotype: Genotype | Sequence[CellGenotype], reductions: list[bool]
) -> list[CellGenotype]:
    """The cell genotype of every position: the shared normal / reduce cell, or the list
    given (checked against the layout's reduction positions)."""
    if isinstance(genotype, Genotype):
        normal, reduce = genotype.cell_genotypes
        return [reduce if reduction else normal for reduction in reductions]
    cells = list(genotype)
    if not all(isinstance(cell, CellGenotype) for cell in cells):
        raise InvalidArchitecture("a DARTS network needs a Genotype or one CellGenotype per cell")
    if len(cells) != len(reductions):
        raise InvalidArchitecture(
            f"{len(reductions)} cells need {len(reductions)} cell genotypes, got {len(cells)}"
        )
    for index, (cell, reduction) in enumerate(zip(cells, reductions, strict=True)):
        if cell.reduction != reduction:
            expected = "reduce" if reduction else "normal"
            raise InvalidArchitecture(f"cell {index} must be a {expected} cell, got {cell.kind}")
    return cells


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
