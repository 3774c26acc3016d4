"""FLOPs counter: exact agreement with the `flops` column of zc_nb201.csv, and its rules.

The column is printed in millions with 6 decimals, i.e. to the single FLOP; every row is
matched exactly (maximum relative error 0). One network is built per (multiset of cell
ops, dataset), as in test_nets_nb201: edge placement changes no module's input shape,
and the data agree (rows sharing that key share one `flops` value, asserted below).
"""

from __future__ import annotations

import torch
from torch import nn

from conftest import NB201_KNOWN_CELL as KNOWN
from conftest import nb201_zc_by_op_multiset, nb201_zc_count, nb201_zc_shapes, zc_rows
from selfnas.nets import InputShape
from selfnas.nets.flops import count_flops
from selfnas.nets.nb201 import build
from selfnas.spaces.nb201 import NB201Cell, parse_cell

DATASETS = nb201_zc_shapes()


def _flops(cell: NB201Cell, shape: InputShape) -> int:
    return count_flops(build(cell, shape), shape)


def test_known_cell_flops():
    assert _flops(parse_cell(KNOWN), DATASETS["cifar10"]) == 88_307_392


def test_flops_match_every_row_of_zc_nb201():
    worst = 0.0
    for (ops, dataset), expected in nb201_zc_by_op_multiset("flops").items():
        got = _flops(NB201Cell(ops), DATASETS[dataset])
        worst = max(worst, abs(got - expected) / expected)
    assert worst == 0.0


def test_flops_of_sampled_rows_built_from_their_own_cell():
    for row in zc_rows("zc_nb201")[::97]:
        shape = DATASETS[row["dataset"]]
        assert _flops(parse_cell(row["arch"]), shape) == nb201_zc_count(row, "flops"), row["arch"]


def test_training_mode_is_restored_and_hooks_removed():
    shape = DATASETS["cifar10"]
    net = build(parse_cell(KNOWN), shape)
    net.train()
    net.cells[0].eval()  # a mixed state must come back as it was
    modes = [m.training for m in net.modules()]
    assert count_flops(net, shape) == 88_307_392
    assert [m.training for m in net.modules()] == modes
    assert not net._forward_hooks and all(not m._forward_hooks for m in net.modules())


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2, bias=True)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)
        self.auxiliary = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.auxiliary(x.mean((2, 3)))  # called, but a head named `auxiliary` is left out
        return self.fc(self.gap(self.pool(self.conv(x))).flatten(1))


def test_rules_on_a_toy_network():
    shape = InputShape(4, 8, 5)
    # conv: 4x4 outputs x 3x3 kernel x 2 in per group x 8 out, + 8x16 bias
    conv = 16 * 9 * 2 * 8 + 8 * 16
    pool = 8 * 2 * 2 * 4  # kernel area per output element
    gap = 8 * 3 * 3  # (window + 1)^2 per channel, window 2x2
    fc = 8 * 5
    assert count_flops(_Toy(), shape) == conv + pool + gap + fc
    with torch.device("meta"):  # only shapes are needed
        assert count_flops(_Toy(), shape) == conv + pool + gap + fc
