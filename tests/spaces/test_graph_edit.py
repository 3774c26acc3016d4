"""Exact graph edit distance, cross-checked against networkx on random small graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from selfnas.spaces.graph_edit import graph_edit_distance, within_edit_distance

TERMINALS = frozenset({"in", "out"})


def random_dag(rng: np.random.Generator, n: int, labels=("a", "b", "c")):
    adj = np.triu(rng.integers(0, 2, (n, n)), 1)
    return adj, [str(rng.choice(labels)) for _ in range(n)]


def random_cell_like(rng: np.random.Generator, n: int):
    """A DAG with one 'in' (first) and one 'out' (last) vertex, like an NB101 cell."""
    adj, labels = random_dag(rng, n)
    labels[0], labels[-1] = "in", "out"
    return adj, labels


def to_nx(adj, labels) -> nx.DiGraph:
    graph = nx.DiGraph()
    for v, label in enumerate(labels):
        graph.add_node(v, label=label)
    graph.add_edges_from((int(i), int(j)) for i, j in zip(*np.nonzero(adj), strict=True))
    return graph


def nx_distance(a, b, anchored=frozenset()) -> float:
    big = 1000.0

    def subst(x, y):
        if (x["label"] in anchored or y["label"] in anchored) and x["label"] != y["label"]:
            return big
        return float(x["label"] != y["label"])

    def indel(x):
        return big if x["label"] in anchored else 1.0

    return nx.graph_edit_distance(
        to_nx(*a), to_nx(*b), node_subst_cost=subst, node_del_cost=indel, node_ins_cost=indel
    )


def test_matches_networkx_on_random_labelled_dags():
    rng = np.random.default_rng(11)
    for _ in range(40):
        a = random_dag(rng, int(rng.integers(1, 5)))
        b = random_dag(rng, int(rng.integers(1, 5)))
        assert graph_edit_distance(*a, *b) == nx_distance(a, b)


def test_matches_networkx_with_anchored_terminals():
    rng = np.random.default_rng(12)
    for _ in range(30):
        a = random_cell_like(rng, int(rng.integers(2, 6)))
        b = random_cell_like(rng, int(rng.integers(2, 5)))
        assert graph_edit_distance(*a, *b, anchored=TERMINALS) == nx_distance(a, b, TERMINALS)


def test_anchoring_changes_the_distance_where_it_should():
    # in -> out  versus  in -> x -> out
    short = (np.array([[0, 1], [0, 0]]), ["in", "out"])
    long = (np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["in", "x", "out"])
    # free: map out -> x (relabel), insert a vertex and one edge: 3
    assert graph_edit_distance(*short, *long) == 3
    # anchored: insert x, delete in->out, insert two edges: 4
    assert graph_edit_distance(*short, *long, anchored=TERMINALS) == 4


def test_metric_properties_on_random_triples():
    rng = np.random.default_rng(13)
    for _ in range(30):
        a, b, c = (random_cell_like(rng, int(rng.integers(2, 8))) for _ in range(3))
        ab = graph_edit_distance(*a, *b, anchored=TERMINALS)
        assert ab == graph_edit_distance(*b, *a, anchored=TERMINALS)
        assert graph_edit_distance(*a, *a, anchored=TERMINALS) == 0
        ac = graph_edit_distance(*a, *c, anchored=TERMINALS)
        bc = graph_edit_distance(*b, *c, anchored=TERMINALS)
        assert ac <= ab + bc


def test_within_edit_distance_agrees_with_the_exact_distance():
    rng = np.random.default_rng(14)
    for _ in range(200):
        a, b = (random_cell_like(rng, int(rng.integers(2, 8))) for _ in range(2))
        exact = graph_edit_distance(*a, *b, anchored=TERMINALS)
        for bound in (exact - 1, exact, 6):
            assert within_edit_distance(*a, *b, bound, anchored=TERMINALS) == (exact <= bound)


def test_anchored_labels_must_occur_once_in_each_graph():
    a = (np.array([[0, 1], [0, 0]]), ["in", "out"])
    b = (np.array([[0, 1], [0, 0]]), ["in", "in"])
    with pytest.raises(ValueError, match="anchored label"):
        graph_edit_distance(*a, *b, anchored=TERMINALS)
