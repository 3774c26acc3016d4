"""The NAS-Bench-101 network: parameter counts equal the benchmark's, and it trains."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from conftest import shared_file
from selfnas.errors import InvalidOption
from selfnas.nets import InputShape, build_network, count_parameters
from selfnas.nets.nb101 import NB101Module, build, vertex_channels
from selfnas.spaces.nb101 import NB101Space

CIFAR10 = InputShape(3, 32, 10)
SPACE = NB101Space()


def _meta_count(cell) -> int:
    """Parameters of the real module, built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        return count_parameters(build(cell, CIFAR10))


def test_official_trainable_parameters():
    records = json.loads(shared_file("nb101/nb101_official_30.json").read_text())
    assert len(records) == 30
    wrong = []
    for key, record in records.items():
        cell = SPACE.from_spec(record["module_adjacency"], record["module_operations"])
        assert cell.hash == key
        count = _meta_count(cell)
        if count != record["trainable_parameters"]:
            wrong.append((key, count, record["trainable_parameters"]))
    assert wrong == []


def test_zero_cost_table_params():
    with shared_file("zc/zc_nb101.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 500
    wrong = []
    for row in rows:
        assert row["dataset"] == "cifar10"
        spec = json.loads(row["arch"])
        cell = SPACE.from_spec(spec["adjacency"], spec["operations"])
        # `params` is millions to 6 decimals (trailing zeros dropped): exact to the unit
        expected = round(float(row["params"]) * 1e6)
        count = _meta_count(cell)
        if count != expected:
            wrong.append((row["arch"], count, expected))
    assert wrong == []


def test_known_cell_count_on_a_real_device():
    records = json.loads(shared_file("nb101/nb101_official_30.json").read_text())
    record = records["ff9713ff8e7d4d6a2ea61994a8bdd447"]
    cell = SPACE.from_spec(record["module_adjacency"], record["module_operations"])
    net = build_network("nb101", cell, CIFAR10)
    assert count_parameters(net) == 7_364_874
    assert next(net.parameters()).device.type == "cpu"


# 6 vertices: 2, 3, 4 feed the output; 1 feeds only 3 and 4; input feeds 1, 2, output
HAND_ADJACENCY = [
    [0, 1, 1, 0, 0, 1],
    [0, 0, 0, 1, 1, 0],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0],
]
HAND_OPS = [
    "input",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "output",
]


def test_channel_split_by_hand():
    cell = SPACE.from_spec(HAND_ADJACENCY, HAND_OPS)
    # 128 = 43 + 43 + 42 (remainder 2 to the first two feeders); vertex 1 takes
    # max(43, 42) = 43 and vertex 4 truncates it to 42
    assert vertex_channels(64, 128, cell.adjacency) == [64, 43, 43, 43, 42, 128]
    module = NB101Module(cell, 64, 128)
    widths = {k: p[0].out_channels for k, p in module.projections.items()}
    assert widths == {"1": 43, "2": 43, "5": 128}
    assert module(torch.zeros(1, 64, 4, 4)).shape == (1, 128, 4, 4)
    # conv weights, BN gamma+beta; maxpool has none
    expected = (
        64 * 43
        + 2 * 43  # projection to 1
        + 64 * 43
        + 2 * 43  # projection to 2
        + 64 * 128
        + 2 * 128  # projection to output
        + 9 * 43 * 43
        + 2 * 43  # vertex 1 conv3x3
        + 43 * 43
        + 2 * 43  # vertex 2 conv1x1
        + 9 * 43 * 43
        + 2 * 43  # vertex 3 conv3x3
    )
    assert count_parameters(module) == expected


def test_input_straight_to_output():
    cell = SPACE.from_spec([[0, 1], [0, 0]], ["input", "output"])
    assert vertex_channels(3, 8, np.array([[0, 1], [0, 0]])) == [3, 8]
    module = NB101Module(cell, 4, 8)
    assert module(torch.zeros(1, 4, 5, 5)).shape == (1, 8, 5, 5)
    assert count_parameters(module) == 4 * 8 + 2 * 8


@pytest.mark.parametrize(
    ("shape", "channels"),
    [(InputShape(1, 28, 10), None), (InputShape(3, 32, 10), None), (InputShape(3, 9, 5), 8)],
)
def test_forward_backward(shape, channels):
    torch.manual_seed(0)
    cell = SPACE.from_spec(HAND_ADJACENCY, HAND_OPS)
    net = build(cell, shape, channels=channels, cells=1 if channels else None)
    x = torch.randn(2, shape.channels, shape.size, shape.size)
    logits = net(x)
    assert logits.shape == (2, shape.classes)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_width_and_depth_overrides():
    cell = SPACE.from_spec(HAND_ADJACENCY, HAND_OPS)
    with torch.device("meta"):
        small = build(cell, CIFAR10, channels=16, cells=1)
    modules = [m for m in small.modules() if isinstance(m, NB101Module)]
    assert [m.channels[-1] for m in modules] == [16, 32, 64]
    assert small.classifier.in_features == 64


def test_auxiliary_and_bad_options_raise():
    cell = SPACE.from_spec(HAND_ADJACENCY, HAND_OPS)
    with pytest.raises(InvalidOption):
        build(cell, CIFAR10, auxiliary=True)
    with pytest.raises(InvalidOption):
        build_network("nb101", cell, CIFAR10, auxiliary=True)
    with pytest.raises(InvalidOption):
        build(cell, CIFAR10, channels=0)
    with pytest.raises(InvalidOption):
        build(cell, CIFAR10, cells=0)
