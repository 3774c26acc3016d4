"""NAS-Bench-Graph space: ids agree with the installed package, edits, node form."""

from __future__ import annotations

import numpy as np
import pytest
from nas_bench_graph import light_read
from nas_bench_graph.architecture import Arch as PackageArch
from nas_bench_graph.architecture import gnn_list, link_list

from selfnas.errors import InvalidArchitecture
from selfnas.spaces import PAD, get_space
from selfnas.spaces.nbgraph import GNN_OPS, LINKS, NODE_OPS, NBGraphArch, parse_arch


@pytest.fixture(scope="module")
def space():
    return get_space("nbgraph")


def test_vocabulary_matches_the_package():
    assert list(GNN_OPS) == gnn_list
    assert [list(link) for link in LINKS] == link_list


def test_enumeration_is_exactly_the_table(space):
    archs = space.enumerate()
    table = light_read("cora")
    assert len(archs) == space.size == len(table) == 26206
    assert {a.arch_id for a in archs} == set(table)
    for arch in archs[::97]:
        package = PackageArch(list(arch.link), list(arch.ops))
        assert package.hash_arch() == arch.arch_id
        assert package.check_isomorph()
        assert NBGraphArch.from_id(arch.arch_id) == arch


def test_any_labelling_maps_to_the_packages_valid_hash():
    rng = np.random.default_rng(0)
    for _ in range(300):
        link = tuple(int(rng.integers(0, i + 1)) for i in range(4))
        ops = tuple(GNN_OPS[int(i)] for i in rng.integers(0, 9, size=4))
        if all(op == "skip" for op in ops):
            continue
        arch = NBGraphArch(link, ops)
        assert arch.arch_id == PackageArch(list(link), list(ops)).valid_hash()


def test_relabelled_graphs_are_one_arch():
    # node 3 fed by node 1 listed before node 2 fed by the input: same graph, same arch
    a = NBGraphArch((0, 0, 1, 2), ("gcn", "gat", "gin", "sage"))
    b = NBGraphArch((0, 0, 2, 1), ("gat", "gcn", "gin", "sage"))
    assert a == b and hash(a) == hash(b) and a.arch_id == b.arch_id


def test_text_and_json_forms(space):
    arch = space.parse("link=0,1,2,3;ops=gcn,gat,sage,gin")
    assert space.format(arch) == "link=0,1,2,3;ops=gcn,gat,sage,gin"
    assert space.parse('{"link": [0, 1, 2, 3], "ops": ["gcn", "gat", "sage", "gin"]}') == arch
    assert parse_arch(str(arch)) == arch
    assert arch.to_json() == {"link": [0, 1, 2, 3], "ops": ["gcn", "gat", "sage", "gin"]}
    assert space.hash(arch) == str(arch.arch_id)
    # a skip in the middle of a chain is the same arch as a skip at its start
    assert space.parse("link=0,1,2,3;ops=gcn,gat,skip,gin") == space.parse(
        "link=0,1,2,3;ops=skip,gcn,gat,gin"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("link=0,2,1,3;ops=gcn,gat,sage,gin", "op node 2 can be fed by node 0..1"),
        ("link=0,1,2,3;ops=gcn,gat,sage,transformer", "unknown GNN op"),
        ("link=0,1,2,3;ops=skip,skip,skip,skip", "only skip"),
        ("link=0,1,2;ops=gcn,gat,sage", "4 links and 4 ops"),
        ("link=0,1,2,x;ops=gcn,gat,sage,gin", "integers"),
        ("ops=gcn,gat,sage,gin", "expected 'link="),
        ("gcn gat sage gin", "expected 'link="),
        ('{"link": [0, 1, 2, 3]}', '"link" and "ops"'),
        ('{"link": [0, 1, 2, 3], "ops": ', "bad NB-Graph JSON"),
    ],
)
def test_bad_text_names_the_problem(space, text, problem):
    with pytest.raises(InvalidArchitecture, match=problem):
        space.parse(text)


def test_neighbours_agree_with_brute_force(space):
    archs = space.enumerate()
    rng = np.random.default_rng(4)
    for arch in space.sample(12, rng):
        distances = space.distances_to_all(arch)
        brute = {archs[i] for i in np.flatnonzero(distances == 1)}
        neighbours = space.neighbours(arch)
        assert len(neighbours) == len(set(neighbours))
        assert set(neighbours) == brute
        assert distances[archs.index(arch)] == 0
        for j in rng.integers(0, len(archs), size=10):
            assert space.edit_distance(arch, archs[j]) == distances[j]
            assert space.edit_distance(archs[j], arch) == distances[j]


def test_edit_distance_examples(space):
    a = space.parse("link=0,1,2,3;ops=gcn,gat,sage,gin")
    assert space.edit_distance(a, space.parse("link=0,1,2,3;ops=gcn,gat,sage,fc")) == 1
    # moving the last node's input from node 3 to node 2 is one edit
    assert space.edit_distance(a, space.parse("link=0,1,2,2;ops=gcn,gat,sage,gin")) == 1
    assert space.edit_distance(a, space.parse("link=0,0,0,0;ops=gcn,gat,sage,gin")) == 3


def test_mutation_and_random_edits(space):
    rng = np.random.default_rng(9)
    arch = space.parse("link=0,1,1,2;ops=gcn,cheb,gat,gin")
    neighbours = set(space.neighbours(arch))
    assert arch not in neighbours
    assert all(space.mutate(arch, rng) in neighbours for _ in range(20))
    for k in range(5):
        distances = [space.edit_distance(arch, space.random_edit(arch, k, rng)) for _ in range(5)]
        assert max(distances) <= k and distances.count(k) >= 4


def test_sampling_is_seeded(space):
    assert space.sample(100, np.random.default_rng(1)) == space.sample(
        100, np.random.default_rng(1)
    )
    assert len(set(space.sample(100, np.random.default_rng(1)))) > 95


def test_node_form_connects_leaves_to_the_output(space):
    arch = space.parse("link=0,1,1,2;ops=gcn,cheb,gat,gin")
    batch = space.batch([arch])
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    assert batch.op_names == NODE_OPS and adj.shape == (6, 6)
    assert [NODE_OPS[i] for i in ops] == ["input", "gcn", "cheb", "gat", "gin", "output"]
    edges = {(int(i), int(j)) for i, j in zip(*np.nonzero(adj), strict=True)}
    # 1 <- input, 2 <- 1, 3 <- 1, 4 <- 2; leaves 3 and 4 feed the output
    assert edges == {(0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 5)}


def test_decode(space):
    archs = space.sample(200, np.random.default_rng(6))
    batch = space.batch(archs)
    for i, arch in enumerate(archs):
        assert space.decode(batch.adj[i].numpy(), batch.ops[i].numpy()) == arch
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    two_inputs = adj.copy()
    two_inputs[0, 4] = two_inputs[1, 4] = two_inputs[2, 4] = two_inputs[3, 4] = 1
    assert space.decode(two_inputs, ops) is None
    leaf_cut = adj.copy()
    leaf_cut[:, 5] = 0
    assert space.decode(leaf_cut, ops) is None
    inner_to_output = adj.copy()
    inner_to_output[1, 5] = 1
    assert space.decode(inner_to_output, ops) is None
    all_skip = ops.copy()
    all_skip[1:5] = NODE_OPS.index("skip")
    assert space.decode(adj, all_skip) is None
    wrong_end = ops.copy()
    wrong_end[5] = NODE_OPS.index("gcn")
    assert space.decode(adj, wrong_end) is None
    padded_adj = np.zeros((8, 8))
    padded_adj[:6, :6] = adj
    assert space.decode(padded_adj, np.concatenate([ops, [PAD, PAD]])) == archs[0]
