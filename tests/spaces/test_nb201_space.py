"""NAS-Bench-201 space: strings, the 15,625 cells, NATS-Bench's 6,466 classes, tensors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from conftest import shared_file
from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces import PAD, get_space
from selfnas.spaces.nb201 import NB201_OPS, NODE_OPS, NB201Cell, unique_key

RESNET_LIKE = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"

#: arch2vec's NB201 adjacency (preprocessing/nasbench201_json.py), copied as data
ARCH2VEC_ADJ = np.array(
    [
        [0, 1, 1, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
)


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


def test_string_round_trip_and_edge_order(space):
    cell = space.parse(RESNET_LIKE)
    assert cell.ops == (
        "nor_conv_3x3",
        "none",
        "none",
        "skip_connect",
        "none",
        "nor_conv_3x3",
    )
    assert space.format(cell) == RESNET_LIKE == cell.string == space.hash(cell)
    assert hash(cell) == hash(space.parse(RESNET_LIKE))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "node groups"),
        ("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|", "takes 3 input"),
        ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
        ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_7x7'"),
        ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "wrapped in '|'"),
        ("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|", "lacks '~source'"),
        ("", "node groups"),
    ],
)
def test_bad_strings_name_the_problem(space, text, problem):
    with pytest.raises(InvalidArchitecture, match=problem):
        space.parse(text)


def test_bad_cells_are_rejected():
    with pytest.raises(InvalidArchitecture, match="6 edge ops"):
        NB201Cell(("none",) * 5)
    with pytest.raises(InvalidArchitecture, match="unknown op"):
        NB201Cell(("none",) * 5 + ("conv",))


def test_enumeration_has_every_cell_once(space):
    cells = space.enumerate()
    assert len(cells) == space.size == 15625 == len(NB201_OPS) ** 6
    assert len(set(cells)) == 15625
    assert [space.index_of(c) for c in cells[:50]] == list(range(50))
    assert space.from_index(12345) == cells[12345]
    with pytest.raises(InvalidOption):
        space.from_index(15625)


def test_benchmark_table_strings_equal_the_enumeration(space):
    table = pd.read_csv(shared_file("nb201/nb201_200ep_cifar10.csv"))
    cells = [space.parse(text) for text in table["arch"]]
    assert [c.string for c in cells] == list(table["arch"])
    assert set(cells) == set(space.enumerate())


def test_unique_classes_match_nats_bench(space):
    keys = {unique_key(cell) for cell in space.enumerate()}
    assert len(keys) == space.unique == 6466


def test_unique_key_rules():
    all_skip = NB201Cell(("skip_connect",) * 6)
    assert unique_key(all_skip) == "0+0+0+0"
    all_none = NB201Cell(("none",) * 6)
    assert unique_key(all_none) == "#+#+#"
    # with nothing from nodes 1, 2 reaching the output, edges 0-1, 0-2, 1-2 do not matter
    dead_ends = [
        NB201Cell((a, b, c, "nor_conv_3x3", "none", "none"))
        for a, b, c in itertools.product(NB201_OPS, repeat=3)
    ]
    assert {unique_key(cell) for cell in dead_ends} == {"#+#+(0)@nor_conv_3x3"}
    other = NB201Cell(("none", "none", "none", "nor_conv_1x1", "none", "none"))
    assert unique_key(other) != unique_key(dead_ends[0])
    # a node's inputs commute: with node 1 = node 0 (skip), swapping the ops of the
    # edges 0-2 and 1-2 gives the same function
    a = NB201Cell(("skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "none", "skip_connect"))
    b = NB201Cell(("skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none", "none", "skip_connect"))
    assert unique_key(a) == unique_key(b) == "#+#+(0)@avg_pool_3x3+(0)@nor_conv_1x1"
    # zero contributions are kept, as in NATS-Bench: a zero-padded path is its own class
    c = NB201Cell(("nor_conv_1x1", "none", "none", "none", "skip_connect", "none"))
    d = NB201Cell(("none", "nor_conv_1x1", "none", "none", "none", "skip_connect"))
    assert unique_key(c) == "#+#+(0)@nor_conv_1x1"
    assert unique_key(d) == "#+#+#+(0)@nor_conv_1x1"


def test_neighbours_mutation_and_edits(space):
    rng = np.random.default_rng(0)
    cell = space.parse(RESNET_LIKE)
    neighbours = space.neighbours(cell)
    assert len(neighbours) == len(set(neighbours)) == 24
    assert cell not in neighbours
    assert all(space.edit_distance(cell, n) == 1 for n in neighbours)
    for _ in range(20):
        assert space.mutate(cell, rng) in neighbours
    for k in range(7):
        for _ in range(5):
            assert space.edit_distance(cell, space.random_edit(cell, k, rng)) == k
    with pytest.raises(InvalidOption):
        space.random_edit(cell, 7, rng)


def test_edit_distance_is_a_metric(space):
    rng = np.random.default_rng(1)
    a, b, c = space.sample(3, rng)
    assert space.edit_distance(a, a) == 0
    assert space.edit_distance(a, b) == space.edit_distance(b, a)
    assert space.edit_distance(a, c) <= space.edit_distance(a, b) + space.edit_distance(b, c)


def test_sampling_is_seeded_and_covers_the_space(space):
    first = space.sample(2000, np.random.default_rng(7))
    assert first == space.sample(2000, np.random.default_rng(7))
    assert first != space.sample(2000, np.random.default_rng(8))
    counts = np.bincount([space.index_of(c) % 5 for c in first], minlength=5)
    assert counts.min() > 300  # the last edge's op is roughly uniform (400 expected each)


def test_node_form_is_arch2vecs_layout(space):
    cell = space.parse(RESNET_LIKE)
    batch = space.batch([cell, cell])
    assert batch.op_names == NODE_OPS
    assert batch.adj.shape == (2, 8, 8)
    assert np.array_equal(batch.adj[0].numpy(), ARCH2VEC_ADJ)
    names = [NODE_OPS[i] for i in batch.ops[0].tolist()]
    assert names == ["input", *cell.ops, "output"]
    assert batch.mask.all()
    assert NODE_OPS.index("none") == 5 and NODE_OPS.index("skip_connect") == 4


def test_edge_form(space):
    cell = space.parse(RESNET_LIKE)
    edge = space.edge_batch([cell])
    ops = edge.edge_ops[0].numpy()
    assert edge.op_names == NB201_OPS
    assert NB201_OPS[ops[0, 1]] == "nor_conv_3x3"
    assert NB201_OPS[ops[1, 2]] == "none"
    assert NB201_OPS[ops[0, 3]] == "skip_connect"
    assert NB201_OPS[ops[2, 3]] == "nor_conv_3x3"
    lower = np.tril(np.ones((4, 4), dtype=bool))
    assert (ops[lower] == PAD).all() and (ops[~lower] >= 0).all()


def test_decode_round_trips_every_cell(space):
    cells = space.enumerate()
    batch = space.batch(cells)
    adj, ops = batch.adj.numpy(), batch.ops.numpy()
    assert all(space.decode(adj[i], ops[i]) == cells[i] for i in range(len(cells)))


def test_decode_rejects_graphs_outside_the_space(space):
    batch = space.batch([space.parse(RESNET_LIKE)])
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    extra_edge = adj.copy()
    extra_edge[0, 7] = 1
    assert space.decode(extra_edge, ops) is None
    missing_edge = adj.copy()
    missing_edge[1, 3] = 0
    assert space.decode(missing_edge, ops) is None
    bad_op = ops.copy()
    bad_op[3] = NODE_OPS.index("output")
    assert space.decode(adj, bad_op) is None
    no_input = ops.copy()
    no_input[0] = NODE_OPS.index("none")
    assert space.decode(adj, no_input) is None
    # padding beyond the 8 vertices is fine; a padded vertex with an edge is not
    padded_adj = np.zeros((10, 10))
    padded_adj[:8, :8] = adj
    padded_ops = np.concatenate([ops, [PAD, PAD]])
    assert space.decode(padded_adj, padded_ops) == space.parse(RESNET_LIKE)
    padded_adj[7, 8] = 1
    assert space.decode(padded_adj, padded_ops) is None
