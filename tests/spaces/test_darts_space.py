"""DARTS / NAS-Bench-301 space: genotype text, canonical order, edits, node form."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import DARTS_V2_TEXT
from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces import PAD, get_space
from selfnas.spaces.darts import (
    DARTS_OPS,
    DARTS_V2,
    NODE_OPS,
    PRIMITIVES,
    Genotype,
    format_genotype,
    parse_genotype,
)
from selfnas.spaces.darts_genotype import canonical_cell


@pytest.fixture(scope="module")
def space():
    return get_space("darts")


def test_op_names_follow_darts():
    # the tests' one independent copy of the list: the DARTS repository's cnn/genotypes.py
    assert PRIMITIVES == (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )
    assert PRIMITIVES[1:] == DARTS_OPS


def test_darts_v2_parses_from_the_repository_text(space):
    parsed = space.parse(DARTS_V2_TEXT)
    assert parsed == DARTS_V2 and hash(parsed) == hash(DARTS_V2)
    assert parse_genotype(format_genotype(parsed)) == parsed
    assert space.hash(parsed) == space.format(parsed) == str(parsed)
    # `range(2, 6)` concat and multi-line layout, as the DARTS repository prints them
    ranged = DARTS_V2_TEXT.replace("[2, 3, 4, 5]", "range(2, 6)").replace(", ", ",\n  ")
    assert space.parse(ranged) == DARTS_V2


def test_order_within_a_node_does_not_matter():
    swapped = list(DARTS_V2.reduce)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    assert Genotype(normal=DARTS_V2.normal, reduce=swapped) == DARTS_V2
    # the canonical form orders each node's pairs by input
    for cell in DARTS_V2.cells:
        assert all(cell[2 * k][1] < cell[2 * k + 1][1] for k in range(4))


def test_positional_fields_are_accepted():
    text = DARTS_V2_TEXT.replace("normal=", "").replace("normal_concat=", "")
    text = text.replace("reduce=", "").replace("reduce_concat=", "")
    assert parse_genotype(text) == DARTS_V2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DARTS_V2_TEXT.replace("dil_conv_3x3", "conv_7x1_1x7"), "unknown op 'conv_7x1_1x7'"),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "cannot take input"),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), "twice"),
        (DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[3, 4]"), "concat"),
        (DARTS_V2_TEXT.replace(", ('dil_conv_3x3', 2)", ""), "expected 8"),
        (DARTS_V2_TEXT.replace("Genotype(", "Other("), "expected Genotype"),
        (DARTS_V2_TEXT[:-1], "syntax"),
        ("__import__('os').system('true')", "Genotype"),
        ("Genotype(normal=__import__('os'), reduce=[])", "literal"),
        ("Genotype(normal=[])", "lacks reduce"),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('none', 2)"), "unknown op 'none'"),
    ],
)
def test_bad_genotypes_name_the_problem(space, text, problem):
    with pytest.raises(InvalidArchitecture, match=problem):
        space.parse(text)


def test_size_matches_a_brute_force_count_of_canonical_nodes(space):
    # count each node's distinct canonical edge pairs by brute force over ordered pairs
    per_node = []
    for node in range(4):
        edges = [(op, s) for op in DARTS_OPS for s in range(node + 2)]
        canonical = set()
        for first, second in itertools.product(edges, repeat=2):
            if first[1] != second[1]:
                canonical.add(tuple(sorted((first, second), key=lambda e: e[1])))
        per_node.append(len(canonical))
    assert per_node == [49, 147, 294, 490]
    assert space.size == int(np.prod(per_node, dtype=object)) ** 2 == 1037664180**2
    assert space.unique is None
    with pytest.raises(InvalidOption, match="cannot be enumerated"):
        space.enumerate()


def test_canonical_cell_sorts_by_input():
    cell = canonical_cell([("skip_connect", 1), ("sep_conv_3x3", 0)] * 4)
    assert cell[:2] == (("sep_conv_3x3", 0), ("skip_connect", 1))


def test_numpy_values_are_accepted_as_plain_ones():
    """A supernet's argmax gives numpy integers and strings; the genotype stores plain ones."""
    normal = [(np.str_(op), np.int64(source)) for op, source in DARTS_V2.normal]
    genotype = Genotype(normal=normal, normal_concat=range(2, 6), reduce=DARTS_V2.reduce)
    assert genotype == DARTS_V2
    assert all(type(s) is int and type(op) is str for op, s in genotype.normal)
    with pytest.raises(InvalidArchitecture, match="not an int"):
        Genotype(normal=[(op, float(s)) for op, s in DARTS_V2.normal], reduce=DARTS_V2.reduce)


def test_sampling_is_valid_and_seeded(space):
    first = space.sample(50, np.random.default_rng(3))
    assert first == space.sample(50, np.random.default_rng(3))
    assert len(set(first)) == 50
    for genotype in first:
        assert space.parse(space.format(genotype)) == genotype
    used = {op for g in first for cell in g.cells for op, _ in cell}
    assert used == set(DARTS_OPS)


def test_neighbours_are_the_single_edits(space):
    neighbours = space.neighbours(DARTS_V2)
    assert len(neighbours) == len(set(neighbours)) == 120
    assert DARTS_V2 not in neighbours
    assert all(space.edit_distance(DARTS_V2, n) == 1 for n in neighbours)
    rng = np.random.default_rng(0)
    assert all(space.mutate(DARTS_V2, rng) in set(neighbours) for _ in range(30))


def test_edit_distance_equals_shortest_edit_path(space):
    """Breadth-first search over single edits up to depth 2 agrees with the formula."""
    start = space.sample(1, np.random.default_rng(11))[0]
    depth = {start: 0}
    frontier = [start]
    for level in (1, 2):
        following = []
        for genotype in frontier:
            for n in space.neighbours(genotype):
                if n not in depth:
                    depth[n] = level
                    following.append(n)
        frontier = following
    assert len(depth) > 5000
    assert all(space.edit_distance(start, g) == d for g, d in depth.items())


def test_edit_distance_of_one_op_change_and_one_input_move(space):
    base = list(DARTS_V2.normal)
    changed_op = list(base)
    changed_op[0] = ("sep_conv_5x5", 0)
    other = Genotype(normal=changed_op, reduce=DARTS_V2.reduce)
    assert space.edit_distance(DARTS_V2, other) == 1
    moved = list(base)
    moved[7] = ("dil_conv_3x3", 4)  # node 5: input 2 -> 4
    assert space.edit_distance(DARTS_V2, Genotype(normal=moved, reduce=DARTS_V2.reduce)) == 1
    assert base[4:6] == [("skip_connect", 0), ("sep_conv_3x3", 1)]
    swapped = list(base)
    swapped[4:6] = [("skip_connect", 1), ("sep_conv_3x3", 0)]  # two input moves or two ops
    assert space.edit_distance(DARTS_V2, Genotype(normal=swapped, reduce=DARTS_V2.reduce)) == 2


def test_random_edits_are_at_most_k_away(space):
    rng = np.random.default_rng(5)
    for k in range(0, 7):
        distances = [
            space.edit_distance(DARTS_V2, space.random_edit(DARTS_V2, k, rng)) for _ in range(10)
        ]
        assert max(distances) <= k
        assert distances.count(k) >= 8
    with pytest.raises(InvalidOption):
        space.random_edit(DARTS_V2, 17, rng)


def test_node_form_follows_arch2vec(space):
    batch = space.batch([DARTS_V2])
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    assert batch.op_names == NODE_OPS and NODE_OPS[:2] == ("c_k-2", "c_k-1")
    assert NODE_OPS[2:10] == PRIMITIVES and NODE_OPS[10] == "output"
    assert adj.shape == (22, 22)
    assert np.array_equal(adj, np.triu(adj, 1))  # topologically ordered DAG
    names = [NODE_OPS[i] for i in ops]
    assert names[:11] == ["c_k-2", "c_k-1", *(op for op, _ in DARTS_V2.normal), "output"]
    assert names[11:] == ["c_k-2", "c_k-1", *(op for op, _ in DARTS_V2.reduce), "output"]
    # normal node 5 = ('skip_connect', 0) + ('dil_conv_3x3', 2): node 2 is op vertices 2, 3
    assert np.flatnonzero(adj[:, 8]).tolist() == [0]
    assert np.flatnonzero(adj[:, 9]).tolist() == [2, 3]
    assert adj[2:10, 10].all() and adj[13:21, 21].all()
    assert adj[10, 11] == adj[10, 12] == 1  # the normal cell feeds the reduction cell
    in_edges = sum(1 if source < 2 else 2 for cell in DARTS_V2.cells for _, source in cell)
    assert adj.sum() == in_edges + 2 * 8 + 2  # no other edge


def test_decode_round_trips_and_accepts_either_vertex_order(space):
    genotypes = space.sample(30, np.random.default_rng(2))
    batch = space.batch(genotypes)
    for i, genotype in enumerate(genotypes):
        assert space.decode(batch.adj[i].numpy(), batch.ops[i].numpy()) == genotype
    adj, ops = batch.adj[0].numpy().copy(), batch.ops[0].numpy().copy()
    order = list(range(22))
    order[2], order[3] = 3, 2  # swap the two op vertices of normal node 2
    assert space.decode(adj[np.ix_(order, order)], ops[order]) == genotypes[0]


def test_decode_rejects_graphs_outside_the_space(space):
    batch = space.batch([DARTS_V2])
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    same_input = adj.copy()
    same_input[2:4, 9] = 0
    same_input[0, 9] = 1  # node 5 would take input 0 twice
    assert space.decode(same_input, ops) is None
    no_output = adj.copy()
    no_output[4, 10] = 0
    assert space.decode(no_output, ops) is None
    half_node = adj.copy()
    half_node[3, 9] = 0  # fed by only one vertex of node 2
    assert space.decode(half_node, ops) is None
    zero_op = ops.copy()
    zero_op[5] = NODE_OPS.index("none")
    assert space.decode(adj, zero_op) is None
    no_join = adj.copy()
    no_join[10, 12] = 0
    assert space.decode(no_join, ops) is None
    padded_adj = np.zeros((24, 24))
    padded_adj[:22, :22] = adj
    padded_ops = np.concatenate([ops, [PAD, PAD]])
    assert space.decode(padded_adj, padded_ops) == DARTS_V2


def test_published_rule_accepts_every_genotype_and_more(space):
    """The published code's looser DARTS check: every real genotype passes it, an op vertex
    without an input fails it, and a vertex fed by two inputs (no genotype) still passes."""
    batch = space.batch(space.sample(20, np.random.default_rng(3)))
    for adj, ops in zip(batch.adj.numpy(), batch.ops.numpy(), strict=True):
        assert space.decode(adj, ops) is not None
        assert space.published_valid(adj, ops)
    adj, ops = batch.adj[0].numpy().copy(), batch.ops[0].numpy().copy()
    extra = adj.copy()
    sources = np.flatnonzero(extra[:, 2])
    extra[1 - sources[0] if sources[0] < 2 else 0, 2] = 1.0  # a second input into vertex 2
    assert space.decode(extra, ops) is None and space.published_valid(extra, ops)
    starved = adj.copy()
    starved[:, 5] = 0.0  # op vertex 5 of the normal cell fed by nothing
    assert not space.published_valid(starved, ops)
    wrong = ops.copy()
    wrong[0] = wrong[1]  # the first input slot no longer c_{k-2}
    assert not space.published_valid(adj, wrong)
