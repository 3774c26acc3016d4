"""Exact graph edit distance for small vertex-labelled directed graphs (<= ~8 vertices).

Edit operations, each of cost 1: insert or delete an edge, substitute a vertex label,
insert or delete a vertex (an inserted vertex arrives isolated; its edges are inserted
separately). The distance is the cheapest edit path, minimised over vertex
correspondences, exactly as `networkx.graph_edit_distance` with unit costs defines it.

With unit costs, substituting a vertex (cost <= 1) is never worse than deleting it and
inserting another (cost 2 plus at least as many edge edits), so an optimal path matches
min(n_a, n_b) vertex pairs and deletes or inserts the rest: it is enough to pad both graphs
to the same size with edgeless dummy vertices and search bijections. All bijections are
scored at once with numpy: for a permutation p,

    cost(p) = sum_i subst[i, p(i)] + |E_a| + |E_b| - 2 * #{(i, j) in E_a : (p(i), p(j)) in E_b}

`anchored` labels (say a cell's input and output) must map onto the vertex with the same
label; only the other vertices are permuted, so a 7-vertex NB101 cell needs 5! = 120
candidates rather than 7! = 5,040.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Sequence
from functools import cache

import numpy as np

MAX_FREE_VERTICES = 8


@cache
def _permutations(m: int) -> np.ndarray:
    """`[m!, m]` every permutation of `range(m)` (one empty one for m = 0)."""
    perms = list(itertools.permutations(range(m)))
    return np.array(perms, dtype=np.int64).reshape(len(perms), m)


class _Padded:
    """Both graphs on one padded vertex set: anchors first (matched by label), then the
    free vertices, then edgeless dummies."""

    def __init__(
        self,
        adj_a: np.ndarray,
        labels_a: Sequence[Hashable],
        adj_b: np.ndarray,
        labels_b: Sequence[Hashable],
        anchored: frozenset[Hashable],
    ):
        order_a, order_b, self.k = _anchor_order(labels_a, labels_b, anchored)
        free_a = [v for v in range(len(labels_a)) if labels_a[v] not in anchored]
        free_b = [v for v in range(len(labels_b)) if labels_b[v] not in anchored]
        self.m = max(len(free_a), len(free_b))
        if self.m > MAX_FREE_VERTICES:
            raise ValueError(f"too many free vertices for exact search: {self.m}")
        n = self.k + self.m
        self.n = n
        self.adj_a = _embed(adj_a, order_a + free_a, n)
        self.adj_b = _embed(adj_b, order_b + free_b, n)
        real_a = [labels_a[v] for v in order_a + free_a] + [None] * (n - len(labels_a))
        real_b = [labels_b[v] for v in order_b + free_b] + [None] * (n - len(labels_b))
        subst = np.zeros((n, n), dtype=np.int64)
        for i, la in enumerate(real_a):
            for j, lb in enumerate(real_b):
                if la is None or lb is None:
                    subst[i, j] = int((la is None) != (lb is None))
                else:
                    subst[i, j] = int(la != lb)
        self.subst = subst
        self.free_a = Counter(real_a[self.k :])
        self.free_b = Counter(real_b[self.k :])

    def lower_bound(self) -> int:
        """Vertex part: free slots that cannot find an equal label; edge part: |E_a - E_b|."""
        equal = sum((self.free_a & self.free_b).values())
        return (self.m - equal) + abs(int(self.adj_a.sum()) - int(self.adj_b.sum()))

    def exact(self) -> int:
        perms = np.concatenate(
            [
                np.broadcast_to(np.arange(self.k), (len(_permutations(self.m)), self.k)),
                self.k + _permutations(self.m),
            ],
            axis=1,
        )  # [P, n]: vertex i of a -> perms[p, i] of b
        node = self.subst[np.arange(self.n), perms].sum(axis=1)
        src, dst = np.nonzero(self.adj_a)
        flat_b = self.adj_b.ravel()
        kept = flat_b[perms[:, src] * self.n + perms[:, dst]].sum(axis=1)
        edges = int(self.adj_a.sum()) + int(self.adj_b.sum()) - 2 * kept
        return int((node + edges).min())


def _anchor_order(
    labels_a: Sequence[Hashable], labels_b: Sequence[Hashable], anchored: frozenset[Hashable]
) -> tuple[list[int], list[int], int]:
    order_a: list[int] = []
    order_b: list[int] = []
    for label in sorted(anchored, key=repr):
        in_a = [v for v, x in enumerate(labels_a) if x == label]
        in_b = [v for v, x in enumerate(labels_b) if x == label]
        if len(in_a) != len(in_b) or len(in_a) > 1:
            raise ValueError(
                f"anchored label {label!r} must occur at most once and equally often in "
                f"both graphs (found {len(in_a)} and {len(in_b)})"
            )
        order_a += in_a
        order_b += in_b
    return order_a, order_b, len(order_a)


def _embed(adj: np.ndarray, order: list[int], n: int) -> np.ndarray:
    out = np.zeros((n, n), dtype=np.int64)
    sub = np.asarray(adj, dtype=np.int64)[np.ix_(order, order)]
    out[: len(order), : len(order)] = sub
    return out


def graph_edit_distance(
    adj_a: np.ndarray,
    labels_a: Sequence[Hashable],
    adj_b: np.ndarray,
    labels_b: Sequence[Hashable],
    anchored: frozenset[Hashable] = frozenset(),
) -> int:
    """Exact edit distance between two labelled directed graphs (`adj[i, j]` = edge i->j)."""
    return _Padded(adj_a, labels_a, adj_b, labels_b, frozenset(anchored)).exact()


def within_edit_distance(
    adj_a: np.ndarray,
    labels_a: Sequence[Hashable],
    adj_b: np.ndarray,
    labels_b: Sequence[Hashable],
    bound: int,
    anchored: frozenset[Hashable] = frozenset(),
) -> bool:
    """`graph_edit_distance(...) <= bound`, skipping the search when a cheap lower bound
    already exceeds `bound`."""
    padded = _Padded(adj_a, labels_a, adj_b, labels_b, frozenset(anchored))
    if padded.lower_bound() > bound:
        return False
    return padded.exact() <= bound
