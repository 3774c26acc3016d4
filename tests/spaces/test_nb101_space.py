"""The NB101 space through the SearchSpace interface: registry, sampling, tensors, decode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.spaces import PAD, get_space
from selfnas.spaces.nb101 import NODE_OPS, NB101Space

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


def test_registry_and_description(space):
    assert isinstance(space, NB101Space) and space.name == "nb101"
    assert space.size == space.unique == 423_624
    assert space.candidate_ops == (C3, C1, MP)
    assert space.node_ops == NODE_OPS == ("input", C1, C3, MP, "output")
    assert space.describe()["ops"] == [C3, C1, MP]


def test_batch_layout(space):
    cells = [
        space.from_spec([[0, 1], [0, 0]], ["input", "output"]),
        space.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", MP, "output"]),
    ]
    batch = space.batch(cells)
    assert tuple(batch.adj.shape) == (2, 7, 7) and tuple(batch.ops.shape) == (2, 7)
    assert batch.op_names == NODE_OPS and batch.num_ops == 5
    assert batch.ops[0].tolist() == [0, 4] + [PAD] * 5
    assert batch.ops[1].tolist() == [0, 3, 4] + [PAD] * 4
    assert batch.mask.sum(dim=1).tolist() == [2, 3]
    assert batch.adj[1, :3, :3].tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert batch.adj[:, :, 3:].sum() == 0 and batch.adj.dtype == torch.float32


def test_batch_all_matches_batch_of_table_cells(space):
    everything = space.batch_all()
    assert len(everything) == 423_624
    table = space.table()
    rows = np.random.default_rng(1).choice(len(table), size=200, replace=False)
    some = space.batch(table.cells(rows))
    picked = everything[rows]
    assert torch.equal(some.adj, picked.adj) and torch.equal(some.ops, picked.ops)
    assert torch.equal(some.mask, picked.mask)


def test_hashes_all_equal_the_hashes_of_the_decoded_rows(space):
    hashes = space.hashes_all()
    assert len(hashes) == 423_624 and all(isinstance(h, str) for h in hashes[:10])
    everything = space.batch_all()
    rows = np.random.default_rng(3).choice(len(hashes), size=200, replace=False)
    for row in rows:
        cell = space.decode(everything.adj[row].numpy(), everything.ops[row].numpy())
        assert space.hash(cell) == hashes[row]


def test_decode_round_trips_and_rejects_invalid_graphs(space):
    cells = space.sample(50, np.random.default_rng(2))
    batch = space.batch(cells)
    for i, cell in enumerate(cells):
        assert space.decode(batch.adj[i].numpy(), batch.ops[i].numpy()) == cell
        probabilities = batch.adj[i].numpy() * 0.9 + 0.05
        one_hot = batch.one_hot_ops()[i].numpy()
        assert space.decode(probabilities, one_hot) == cell
    adj = np.zeros((7, 7))
    ops = np.array([0, 2, 2, 4, PAD, PAD, PAD])
    assert space.decode(adj, ops) is None  # disconnected
    adj[0, 1] = adj[1, 3] = adj[2, 1] = 1
    assert space.decode(adj, ops) is None  # edge below the diagonal
    adj[2, 1] = 0
    adj[0, 2] = adj[2, 3] = 1
    assert space.decode(adj, ops) is not None
    assert space.decode(adj, np.array([0, 4, 2, 4, PAD, PAD, PAD])) is None  # output inside
    assert space.decode(adj, np.array([0, 2, PAD, 4, PAD, PAD, PAD])) is None  # gap on path
    cell = space.decode(adj, ops)
    # as nasbench's ModelSpec: vertices on no input-output path are pruned before the
    # rules apply, whatever they hold (an edge between padding after the output, a stray
    # vertex labelled 'input' or padding between real ones)
    adj[4, 5] = 1
    assert space.decode(adj, ops) == cell
    wider = np.zeros((7, 7))
    wider[0, 1] = wider[1, 4] = wider[0, 3] = wider[3, 4] = wider[0, 2] = 1
    assert space.decode(wider, np.array([0, 2, 0, 2, 4, PAD, PAD])) == cell
    assert space.decode(wider, np.array([0, 2, PAD, 2, 4, PAD, PAD])) == cell
    wider[2, 4] = 1  # now the stray vertex is on a path: its op counts
    assert space.decode(wider, np.array([0, 2, 0, 2, 4, PAD, PAD])) is None
    assert space.decode(wider, np.array([0, 2, PAD, 2, 4, PAD, PAD])) is None
    assert space.decode(adj, np.array([PAD, 2, 2, 4, PAD, PAD, PAD])) is None  # no input


def test_sampling_is_uniform_over_unique_cells_and_seeded(space):
    table = space.table()
    rng = np.random.default_rng(3)
    cells = space.sample(20_000, rng)
    sizes = np.array([c.num_vertices for c in cells])
    expected = np.bincount(table.num_vertices, minlength=8) / len(table) * len(cells)
    observed = np.bincount(sizes, minlength=8)
    seen = expected > 5
    chi2 = (((observed - expected) ** 2)[seen] / expected[seen]).sum()
    assert chi2 < 25  # 3-4 degrees of freedom; a non-uniform sampler misses by far more
    again = space.sample(5, np.random.default_rng(3))
    assert again == cells[:5]


def test_edit_distance_on_the_interface(space):
    a = space.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"])
    b = space.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C1, "output"])
    assert space.edit_distance(a, a) == 0 and space.edit_distance(a, b) == 2
    assert space.within_edit_distance(a, b, 6) and not space.within_edit_distance(a, b, 1)
    short = space.from_spec([[0, 1], [0, 0]], ["input", "output"])
    assert space.edit_distance(short, a) == 4  # input and output stay themselves


def test_unpruned_hash_tells_apart_what_the_canonical_hash_merges(space):
    """Two decodes of one cell that differ only in a stray vertex's op: the same cell and
    `hash`, different `unpruned_hash` (the published code's uniqueness count); isomorphic
    decodes (vertices swapped) share both."""
    wider = np.zeros((7, 7))
    wider[0, 1] = wider[1, 4] = wider[0, 3] = wider[3, 4] = wider[0, 2] = 1
    a = np.array([0, 2, 1, 2, 4, PAD, PAD])
    b = np.array([0, 2, 3, 2, 4, PAD, PAD])
    assert space.decode(wider, a) == space.decode(wider, b)
    assert space.unpruned_hash(wider, a) != space.unpruned_hash(wider, b)
    swapped = np.array([0, 2, 1, 2, 4, PAD, PAD])
    order = [0, 3, 2, 1, 4, 5, 6]  # vertices 1 and 3 exchanged: the same graph
    assert space.unpruned_hash(wider[np.ix_(order, order)], swapped[order]) == (
        space.unpruned_hash(wider, a)
    )
