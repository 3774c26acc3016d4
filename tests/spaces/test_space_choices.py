"""Every space's categorical decisions (`choices`, `from_choices`, `to_choices`): the
encoding a REINFORCE policy samples archs through."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from conftest import NB201_KNOWN_CELL
from selfnas.errors import InvalidArchitecture
from selfnas.spaces import get_space
from selfnas.spaces.darts import DARTS_OPS, DARTS_V2

SPACES = ["nb101", "nb201", "darts", "nbgraph"]
#: each space's decisions as its structure states them
EXPECTED = {
    "nb101": (2,) * 21 + (3,) * 5,
    "nb201": (5,) * 6,
    "darts": tuple(n for k in range(4) for n in (comb(k + 2, 2), len(DARTS_OPS), len(DARTS_OPS)))
    * 2,
    "nbgraph": (1, 2, 3, 4) + (9,) * 4,
}
SAMPLES = 200


@pytest.fixture(scope="module", params=SPACES)
def space(request):
    if request.param == "nbgraph":
        pytest.importorskip("nas_bench_graph", reason="NAS-Bench-Graph needs its package")
    return get_space(request.param)


@pytest.fixture(scope="module")
def sampled(space):
    archs = space.sample(SAMPLES, np.random.default_rng(0))
    return archs, [space.to_choices(a) for a in archs]


def test_cardinalities_follow_the_structure(space):
    assert space.choices == EXPECTED[space.name]


def test_from_choices_inverts_to_choices(space, sampled):
    for arch, choice in zip(*sampled, strict=True):
        assert len(choice) == len(space.choices)
        assert all(0 <= c < n for c, n in zip(choice, space.choices, strict=True))
        back = space.from_choices(choice)
        assert back == arch and hash(back) == hash(arch)
        assert space.hash(back) == space.hash(arch)


def test_every_option_is_reachable(space, sampled):
    # each option of each decision spells a valid arch in some sampled context
    _, choices = sampled
    for decision, n in enumerate(space.choices):
        for option in range(n):
            assert any(
                space.from_choices((*c[:decision], option, *c[decision + 1 :])) is not None
                for c in choices
            ), (decision, option)


def test_malformed_vectors_are_refused(space):
    good = [0] * len(space.choices)
    with pytest.raises(InvalidArchitecture, match="choice indices"):
        space.from_choices(good[:-1])
    with pytest.raises(InvalidArchitecture, match="options 0"):
        space.from_choices([*good[:-1], space.choices[-1]])


def test_nb201_is_the_edge_op_indices():
    space = get_space("nb201")
    cell = space.parse(NB201_KNOWN_CELL)
    assert space.to_choices(cell) == cell.op_indices == (1, 3, 3, 2, 2, 0)
    assert space.from_choices((1, 3, 3, 2, 2, 0)) == cell


def test_darts_is_pair_then_lower_and_higher_edge_op():
    space = get_space("darts")
    choice = space.to_choices(DARTS_V2)
    names = ("sep_conv_3x3", "dil_conv_3x3", "skip_connect", "max_pool_3x3")
    sep3, dil3, skip, maxp = (DARTS_OPS.index(o) for o in names)
    # normal node 2: inputs (0, 1); node 5: inputs (0, 2) = pair 1 of (0,1),(0,2),(0,3),...
    assert choice[:3] == (0, sep3, sep3)
    assert choice[9:12] == (1, skip, dil3)
    # reduce node 3: ('skip_connect', 2), ('max_pool_3x3', 1) sorted to inputs (1, 2)
    assert choice[15:18] == (2, maxp, skip)
    assert space.from_choices(choice) == DARTS_V2


def test_nb101_rejects_too_many_edges_and_disconnected_specs():
    space = get_space("nb101")
    edges = list(zip(*np.triu_indices(7, 1), strict=True))
    chain = {(v, v + 1) for v in range(6)}

    def vector(present):
        return [int(e in present) for e in edges] + [0] * 5

    nine = chain | {(0, 2), (0, 3), (0, 4)}
    ten = nine | {(0, 5)}  # every vertex on an input-output path: nothing to prune
    cell = space.from_choices(vector(nine))
    assert cell is not None and cell.num_edges == 9 and cell.num_vertices == 7
    assert space.from_choices(vector(ten)) is None
    assert space.from_choices(vector(set())) is None
    assert space.from_choices(vector(chain - {(2, 3)})) is None


def test_nb101_from_choices_is_the_pruned_spec():
    space = get_space("nb101")
    edges = list(zip(*np.triu_indices(7, 1), strict=True))
    # input -> 1 -> output, vertex 2 dangling (pruned), 3..5 unused
    present = {(0, 1), (1, 6), (0, 2)}
    choice = [int(e in present) for e in edges] + [2, 1, 0, 0, 0]
    cell = space.from_choices(choice)
    expected = space.parse(
        '{"adjacency": [[0,1,0],[0,0,1],[0,0,0]], "operations": ["input","maxpool3x3","output"]}'
    )
    assert cell == expected and cell.num_vertices == 3
    kept = tuple(int(e in {(0, 1), (1, 6)}) for e in edges)
    assert space.to_choices(cell) == (*kept, 2, 0, 0, 0, 0)
    tiny = space.parse('{"adjacency": [[0,1],[0,0]], "operations": ["input","output"]}')
    assert space.to_choices(tiny)[edges.index((0, 6))] == 1
    assert space.from_choices(space.to_choices(tiny)) == tiny


def test_nbgraph_accepts_every_labelling_and_gives_the_stored_arch():
    pytest.importorskip("nas_bench_graph", reason="NAS-Bench-Graph needs its package")
    from selfnas.spaces.nbgraph import GNN_OPS, NBGraphArch

    space = get_space("nbgraph")
    stored = set(space.enumerate())
    ops = [GNN_OPS.index(o) for o in ("gcn", "gat", "sage", "skip")]
    links = list(itertools.product(*(range(i + 1) for i in range(4))))
    assert len(links) == 24
    for link in links:
        arch = space.from_choices((*link, *ops))
        assert arch is not None and arch in stored
        # canonical: its own spelling gives it back unchanged
        assert space.from_choices(space.to_choices(arch)) == arch
    # a relabelled graph is the one stored arch, spelled canonically
    gat, gcn, gin, sage = (GNN_OPS.index(o) for o in ("gat", "gcn", "gin", "sage"))
    arch = space.from_choices((0, 0, 2, 1, gat, gcn, gin, sage))
    assert arch == NBGraphArch((0, 0, 1, 2), ("gcn", "gat", "gin", "sage"))
    assert arch == space.from_choices((0, 0, 1, 2, gcn, gat, gin, sage))
    assert arch.arch_id in {a.arch_id for a in stored}
    assert space.from_choices((0, 0, 0, 0, *(GNN_OPS.index("skip"),) * 4)) is None
