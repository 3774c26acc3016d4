"""The derived network: a plain module built from per-cell genotypes, no search machinery.

The same `DerivedCell` class serves two roles: the exported network's cells, and the
supernet's fixed (pruned) cells, which therefore cost exactly what the derived cell costs.
Module names match the supernet's kept modules (`cells.i.edges.<edge>` <- the supernet's
`cells.i.edges.<edge>.ops.<op>`), so the concomitant weights copy 1:1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar, cast

import torch
from torch import Tensor, nn

from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption
from selfnas.oneshot.ops import FactorizedReduce, ReLUConvBN, make_op
from selfnas.spaces.darts_genotype import (
    NUM_NODES,
    CellGenotype,
    cells_from_text,
    cells_to_text,
)

FORMAT = "selfnas-sswp-network/1"
ModuleT = TypeVar("ModuleT", bound=nn.Module)


def to_channels_last(module: ModuleT) -> ModuleT:
    """Store the module's 4-d weights channels-last (oneDNN runs the depthwise convs ~1.4x
    faster on CPU); in place, like `Module.to`."""
    return module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


STEMS = ("cifar", "imagenet")


@dataclass(frozen=True)
class MacroConfig:
    """Depth and width shared by the supernet and the network (weight preservation needs it).

    `stem="cifar"`: DARTS' `NetworkCIFAR` stem (conv3x3 to 3C + BN); the cells start at the
    input's resolution. `stem="imagenet"`: DARTS' `NetworkImageNet` reduction stem (stem0:
    conv3x3 s2 to C/2, BN, ReLU, conv3x3 s2 to C, BN; stem1: ReLU, conv3x3 s2, BN), so
    224 px reach the first cell as 28 px; the first cell reads stem0 (56 px) and stem1
    (28 px), hence its factorized-reduce preprocessing and C input channels.
    """

    cells: int = 8
    channels: int = 16
    in_channels: int = 1
    stem_multiplier: int = 3
    stem: str = "cifar"

    def __post_init__(self) -> None:
        if self.stem not in STEMS:
            raise InvalidOption(f"stem must be one of {', '.join(STEMS)}, got {self.stem!r}")
        if self.stem == "imagenet" and self.channels < 2:
            raise InvalidOption(f"the ImageNet stem needs >= 2 channels, got {self.channels}")

    def reduction_cells(self) -> tuple[int, ...]:
        """Reduction cells at L/3 and 2L/3, as in DARTS."""
        return tuple(sorted({self.cells // 3, 2 * self.cells // 3}))

    def layout(self) -> list[tuple[int, int, int, bool, bool]]:
        """Per cell: (C_prev_prev, C_prev, C, reduction, reduction_prev)."""
        if self.stem == "imagenet":
            c_pp = c_p = c_curr = self.channels
            reduction_prev = True  # stem0's output has twice stem1's resolution
        else:
            c_pp = c_p = self.stem_multiplier * self.channels
            c_curr = self.channels
            reduction_prev = False
        rows = []
        for index in range(self.cells):
            reduction = index in self.reduction_cells()
            if reduction:
                c_curr *= 2
            rows.append((c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, NUM_NODES * c_curr
        return rows

    @property
    def feature_dim(self) -> int:
        return self.layout()[-1][2] * NUM_NODES


def make_preprocess(
    c_pp: int, c_p: int, c: int, reduction_prev: bool
) -> tuple[nn.Module, nn.Module]:
    pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
    return pre0, ReLUConvBN(c_p, c, 1, 1, 0)


class ReductionStem(nn.Module):
    """DARTS' ImageNet stem: `forward` gives (stem0, stem1) at 1/4 and 1/8 of the input."""

    def __init__(self, in_channels: int, c: int) -> None:
        super().__init__()
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=False),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),  # not in place: stem0's output is the first cell's s0
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


def make_stem(config: MacroConfig) -> nn.Module:
    if config.stem == "imagenet":
        return ReductionStem(config.in_channels, config.channels)
    c = config.stem_multiplier * config.channels
    return nn.Sequential(
        nn.Conv2d(config.in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
    )


def stem_states(stem: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """The first cell's two inputs: the CIFAR stem's output twice, or the ImageNet stem's
    (stem0, stem1)."""
    out = stem(x)
    return out if isinstance(out, tuple) else (out, out)


def drop_path(x: Tensor, drop_prob: float) -> Tensor:
    """Zero whole samples with probability `drop_prob`, scale the kept ones by
    1 / (1 - drop_prob) (DARTS' drop path; not in place)."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], *([1] * (x.dim() - 1)), device=x.device, dtype=x.dtype)
    return x / keep * mask.bernoulli_(keep)


class DerivedCell(nn.Module):
    """A DARTS cell holding exactly one op module on each of its 8 kept edges."""

    def __init__(
        self,
        genotype: CellGenotype,
        preprocess0: nn.Module,
        preprocess1: nn.Module,
        edges: dict[int, nn.Module],
    ) -> None:
        super().__init__()
        self.genotype = genotype
        self.reduction = genotype.reduction
        self.preprocess0 = preprocess0
        self.preprocess1 = preprocess1
        self.edges = nn.ModuleDict({str(edge): edges[edge] for edge, _ in genotype.edges()})
        self._plan = [
            (str(edge), source)
            for (edge, _), (_, source) in zip(genotype.edges(), genotype.ops, strict=True)
        ]

    @classmethod
    def build(
        cls,
        genotype: CellGenotype,
        c_pp: int,
        c_p: int,
        c: int,
        reduction_prev: bool,
        pool_bn: bool = True,
    ) -> DerivedCell:
        """The cell on its channel layout; `pool_bn` as in `make_op` (False: DARTS'
        evaluation network's bare pools)."""
        pre0, pre1 = make_preprocess(c_pp, c_p, c, reduction_prev)
        edges = {}
        for (edge, name), (_, source) in zip(genotype.edges(), genotype.ops, strict=True):
            stride = 2 if genotype.reduction and source < 2 else 1
            edges[edge] = make_op(name, c, stride, pool_bn=pool_bn)
        return cls(genotype, pre0, pre1, edges)

    def _edge(self, key: str, x: Tensor, drop_prob: float) -> Tensor:
        op = self.edges[key]
        out = op(x)
        if drop_prob > 0.0 and self.training and not isinstance(op, nn.Identity):
            out = drop_path(out, drop_prob)
        return out

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0) -> Tensor:
        """The cell's output; `drop_prob` > 0 drops each non-identity edge's output per
        sample in training mode (DARTS' drop path)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(NUM_NODES):
            (key_a, src_a), (key_b, src_b) = self._plan[2 * node : 2 * node + 2]
            states.append(
                self._edge(key_a, states[src_a], drop_prob)
                + self._edge(key_b, states[src_b], drop_prob)
            )
        return torch.cat([states[i] for i in self.genotype.concat], dim=1)


class ProjectionHead(nn.Sequential):
    """SimCLR's projection: Linear-ReLU-Linear to `out_dim` (used during search only)."""

    def __init__(self, in_dim: int, out_dim: int = 128) -> None:
        super().__init__(
            nn.Linear(in_dim, in_dim), nn.ReLU(inplace=False), nn.Linear(in_dim, out_dim)
        )


def make_head(kind: str, in_dim: int, out_dim: int) -> nn.Module:
    return ProjectionHead(in_dim, out_dim) if kind == "projection" else nn.Linear(in_dim, out_dim)


class Network(nn.Module):
    """Stem, derived cells, global pooling and a head; `features` is the encoder's embedding."""

    def __init__(
        self,
        config: MacroConfig,
        genotypes: Sequence[CellGenotype],
        head: str = "linear",
        out_dim: int = 10,
    ) -> None:
        super().__init__()
        if len(genotypes) != config.cells:
            raise ValueError(
                f"{config.cells} cells need {config.cells} genotypes, got {len(genotypes)}"
            )
        self.config = config
        self.head_kind = head
        self.out_dim = out_dim
        self.stem = make_stem(config)
        cells: list[DerivedCell] = []
        for genotype, (c_pp, c_p, c, reduction, reduction_prev) in zip(
            genotypes, config.layout(), strict=True
        ):
            if genotype.reduction != reduction:
                raise ValueError(f"cell {len(cells)}: genotype type does not match the layout")
            cells.append(DerivedCell.build(genotype, c_pp, c_p, c, reduction_prev))
        self._genotypes = [cell.genotype for cell in cells]
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(head, config.feature_dim, out_dim)

    def cell(self, index: int) -> DerivedCell:
        return cast(DerivedCell, self.cells[index])

    @property
    def genotypes(self) -> list[CellGenotype]:
        return list(self._genotypes)

    def features(self, x: Tensor) -> Tensor:
        s0, s1 = stem_states(self.stem, x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.pool(s1).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def replace_head(self, kind: str, out_dim: int) -> None:
        """Swap the head (projection -> linear classifier before fine-tuning)."""
        device = next(self.parameters()).device
        self.head_kind, self.out_dim = kind, out_dim
        self.head = make_head(kind, self.config.feature_dim, out_dim).to(device)


def network_payload(network: Network) -> dict:
    return {
        "format": FORMAT,
        "config": asdict(network.config),
        "genotypes": cells_to_text(network.genotypes),
        "head": network.head_kind,
        "out_dim": network.out_dim,
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
    }


def save_network(network: Network, path: str | os.PathLike[str]) -> None:
    """Write the network (architecture + weights) atomically; `load_network` reads it back."""
    from selfnas.atomic import save_torch

    save_torch(path, network_payload(network))


def load_network(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Network:
    """Rebuild an exported network in one call, ready for inference (eval mode)."""
    if not os.path.exists(path):
        raise DataNotFound(f"no exported network at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise DataCorrupt(f"{path}: not a readable network file ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataCorrupt(f"{path}: not a selfnas SSWP network (format {FORMAT} expected)")
    network = Network(
        MacroConfig(**payload["config"]),
        cells_from_text(payload["genotypes"]),
        head=payload["head"],
        out_dim=int(payload["out_dim"]),
    )
    network.load_state_dict(payload["state_dict"])
    return network.eval()
