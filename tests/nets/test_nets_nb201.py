"""The NAS-Bench-201 network: its size equals the benchmark's for every published row.

Building a network takes ~30 ms, so the all-rows check builds one network per (multiset of
cell ops, dataset): permuting a cell's edges changes only the wiring, not which modules
exist, and the data agree (rows sharing that key share one `params` value, asserted
below). A sample of rows is also built from its own exact cell.
"""

from __future__ import annotations

import pytest
import torch

from conftest import NB201_KNOWN_CELL as KNOWN
from conftest import nb201_zc_by_op_multiset, nb201_zc_count, nb201_zc_shapes, zc_rows
from selfnas.errors import InvalidOption
from selfnas.nets import InputShape, build_network, count_parameters
from selfnas.nets.nb201 import build
from selfnas.spaces.nb201 import NB201_OPS, NB201Cell, parse_cell

DATASETS = nb201_zc_shapes()


def _count(cell: NB201Cell, shape: InputShape) -> int:
    with torch.device("meta"):  # no storage or init arithmetic: only the modules matter
        return count_parameters(build(cell, shape))


def test_known_cell_has_615386_parameters_on_cifar10():
    assert _count(parse_cell(KNOWN), DATASETS["cifar10"]) == 615_386


def test_parameter_count_matches_every_row_of_zc_nb201():
    mismatches = []
    for (ops, dataset), expected in nb201_zc_by_op_multiset("params").items():
        got = _count(NB201Cell(ops), DATASETS[dataset])
        if got != expected:
            mismatches.append((ops, dataset, got, expected))
    assert not mismatches, mismatches[:5]


def test_parameter_count_of_sampled_rows_built_from_their_own_cell():
    rows = zc_rows("zc_nb201")[::29]
    for row in rows:
        got = _count(parse_cell(row["arch"]), DATASETS[row["dataset"]])
        assert got == nb201_zc_count(row, "params"), (row["arch"], row["dataset"])


def test_edge_placement_does_not_change_the_parameter_count():
    shape = DATASETS["cifar10"]
    ops = ("none", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none")
    counts = {_count(NB201Cell(ops[k:] + ops[:k]), shape) for k in range(6)}
    assert len(counts) == 1


@pytest.mark.parametrize("shape", [InputShape(1, 8, 10), InputShape(3, 32, 10)])
def test_forward_and_backward(shape: InputShape):
    torch.manual_seed(0)
    net = build_network("nb201", parse_cell(KNOWN), shape)
    x = torch.randn(2, shape.channels, shape.size, shape.size)
    logits = net(x)
    assert logits.shape == (2, shape.classes)
    logits.sum().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.stem[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [16, 28])
def test_other_input_sizes(size: int):
    shape = InputShape(3, size, 120)
    net = build(parse_cell(KNOWN), shape).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, size, size)).shape == (2, 120)


def test_none_only_cell_gives_finite_output():
    shape = InputShape(3, 32, 10)
    net = build(NB201Cell(("none",) * 6), shape)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()
    out.sum().backward()


def test_channels_and_cells_override():
    shape = InputShape(3, 32, 10)
    cell = NB201Cell((*NB201_OPS, "nor_conv_3x3"))
    small = build(cell, shape, channels=8, cells=1)
    assert small.stem[0].out_channels == 8
    assert small.classifier.in_features == 32
    assert len(small.cells) == 3 + 2  # one cell per stage plus two reductions
    assert count_parameters(small) < count_parameters(build(cell, shape))
    with torch.no_grad():
        assert small(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_auxiliary_head_is_rejected():
    with pytest.raises(InvalidOption, match="no auxiliary head"):
        build(parse_cell(KNOWN), InputShape(3, 32, 10), auxiliary=True)
    with pytest.raises(InvalidOption):
        build_network("nb201", parse_cell(KNOWN), InputShape(3, 32, 10), auxiliary=True)
