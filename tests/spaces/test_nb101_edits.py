"""Neighbours (edit distance exactly 1, complete) and random edits (distance <= k, valid)."""

from __future__ import annotations

import numpy as np
import pytest

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces import get_space
from selfnas.spaces.nb101_cell import CANDIDATE_OPS, NODE_OPS
from selfnas.spaces.nb101_edits import is_valid_unpruned, positives, random_edit

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


def two_branches(space):
    """input -> a -> output, input -> b -> output: adding b -> a is an edge against the
    vertex order that keeps the graph acyclic, so it must count as a neighbour."""
    adj = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    return space.from_spec(adj, ["input", C3, C1, "output"])


class LowerBound:
    """A valid lower bound on the edit distance from one table cell to every table cell.

    Vertex part: intermediate slots that cannot keep their op. Edge part (input and output
    map onto themselves): each edge edit changes one edge-class count (input->output,
    input->inner, inner->output, inner->inner) by one, and one out-degree and one in-degree
    by one, so the edge edits are at least the class-count difference and at least each
    degree-sequence difference (inner degrees matched in sorted order)."""

    def __init__(self, table):
        adj = table.adjacency.astype(np.int64)
        self.nv = table.num_vertices.astype(np.int64)
        last, every = self.nv - 1, np.arange(len(self.nv))
        outd, ind = adj.sum(axis=2), adj.sum(axis=1)
        inner = (np.arange(7) > 0) & (np.arange(7) < last[:, None])
        in_out = adj[every, 0, last]
        in_inner = outd[:, 0] - in_out
        inner_output = ind[every, last] - in_out
        inner_inner = adj.sum(axis=(1, 2)) - in_out - in_inner - inner_output
        self.classes = np.stack([in_out, in_inner, inner_output, inner_inner], axis=1)
        self.outs = np.c_[outd[:, 0], np.sort(np.where(inner, outd, 0), axis=1)]
        self.ins = np.c_[ind[every, last], np.sort(np.where(inner, ind, 0), axis=1)]
        self.counts = np.stack(
            [(table.ops == NODE_OPS.index(op)).sum(axis=1) for op in CANDIDATE_OPS], axis=1
        )

    def __call__(self, row: int) -> np.ndarray:
        node = np.maximum(self.nv, self.nv[row]) - 2
        node = node - np.minimum(self.counts, self.counts[row]).sum(axis=1)
        by_class = np.abs(self.classes - self.classes[row]).sum(axis=1)
        by_out = np.abs(self.outs - self.outs[row]).sum(axis=1)
        by_in = np.abs(self.ins - self.ins[row]).sum(axis=1)
        return node + np.maximum(by_class, np.maximum(by_out, by_in))


@pytest.fixture(scope="module")
def lower_bound(space):
    return LowerBound(space.table())


def brute_force_neighbours(space, lower_bound, cell) -> set[str]:
    """Every table cell at edit distance 1: exact distances on all cells whose lower bound
    is at most 1."""
    table = space.table()
    rows = np.flatnonzero(lower_bound(table.index_of(cell.hash)) <= 1)
    return {str(table.hashes[r]) for r in rows if space.edit_distance(cell, table.cell(r)) == 1}


def test_neighbours_are_exactly_the_cells_at_distance_one(space, lower_bound):
    rng = np.random.default_rng(21)
    table = space.table()
    cells = [two_branches(space)]
    for n in (5, 6, 7):
        cells.append(table.cell(int(rng.choice(np.flatnonzero(table.num_vertices == n)))))
    for cell in cells:
        found = space.neighbours(cell)
        hashes = [c.hash for c in found]
        assert len(set(hashes)) == len(hashes) and cell.hash not in hashes
        assert all(space.edit_distance(cell, c) == 1 for c in found)
        assert set(hashes) == brute_force_neighbours(space, lower_bound, cell)


def test_backward_edge_insertion_is_a_neighbour(space):
    cell = two_branches(space)
    # the same cell plus the edge b -> a (b renumbered first so the matrix stays upper triangular)
    crossed = space.from_spec(
        [[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C1, C3, "output"]
    )
    assert space.edit_distance(cell, crossed) == 1
    assert crossed in space.neighbours(cell)


def test_neighbours_of_sampled_cells_are_at_distance_one(space):
    rng = np.random.default_rng(22)
    for cell in space.sample(10, rng):
        found = space.neighbours(cell)
        assert found and len(set(found)) == len(found)
        assert all(space.edit_distance(cell, c) == 1 for c in found)
        mutated = space.mutate(cell, rng)
        assert mutated in found


def test_the_two_vertex_cell_has_no_neighbours(space):
    tiny = space.from_spec([[0, 1], [0, 0]], ["input", "output"])
    assert space.neighbours(tiny) == []
    with pytest.raises(InvalidArchitecture, match="no valid cell at edit distance 1"):
        space.mutate(tiny, np.random.default_rng(0))
    assert space.random_edit(tiny, 2, np.random.default_rng(0)) == tiny  # falls back


@pytest.mark.parametrize("k", [1, 2, 3])
def test_random_edits_are_valid_canonical_and_within_k(space, k):
    rng = np.random.default_rng(30 + k)
    anchors = space.sample(25, rng)
    distances = []
    for anchor in anchors:
        for _ in range(4):
            edited = space.random_edit(anchor, k, rng)
            assert is_valid_unpruned(np.asarray(edited.adjacency))
            assert space.from_spec(edited.adjacency, edited.operations).hash == edited.hash
            assert space.table().index_of(edited.hash) >= 0
            distances.append(space.edit_distance(anchor, edited))
    assert min(distances) >= 1 and max(distances) <= k
    assert max(distances) == k  # k edits usually do reach distance k


def test_three_edits_sometimes_delete_a_degree_two_vertex(space):
    rng = np.random.default_rng(40)
    # three parallel branches input -> x -> output: each x has degree 2 and can go
    fan = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5]
    anchor = space.from_spec(fan, ["input", C3, C1, MP, "output"])
    edited = [random_edit(anchor, 3, rng) for _ in range(300)]
    smaller = [e for e in edited if e.num_vertices == 4]
    assert 10 <= len(smaller) <= 60  # p = 0.1 of 300, when the deletion stays valid
    assert all(space.edit_distance(anchor, e) == 3 for e in smaller)


def test_positives_default_to_seven_within_three_edits_and_are_reproducible(space):
    anchor = space.sample(1, np.random.default_rng(50))[0]
    first = space.positives(anchor, np.random.default_rng(51))
    again = positives(anchor, np.random.default_rng(51))
    assert len(first) == 7 and first == again
    assert all(1 <= space.edit_distance(anchor, p) <= 3 for p in first)
    more = space.positives(anchor, np.random.default_rng(52), count=12, max_edits=5)
    assert len(more) == 12 and all(space.edit_distance(anchor, p) <= 5 for p in more)
    with pytest.raises(InvalidOption):
        space.random_edit(anchor, 0, np.random.default_rng(0))
    with pytest.raises(InvalidOption):
        space.positives(anchor, np.random.default_rng(0), max_edits=0)
