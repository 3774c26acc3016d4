"""Edits of NAS-Bench-101 cells: all neighbours at edit distance 1, and random edits.

An edit result is accepted only when it is a valid cell *as edited*: nothing to prune,
<= 9 edges. A result that needs pruning loses more than the edited part (a dropped vertex
and its edges), so its true edit distance could exceed the number of edits; rejecting it
keeps "k edits => edit distance <= k" exact. This matches the positives generator of the
locality-pretraining paper (Choi et al.), whose validity check also demands that the
benchmark's pruning change nothing.
"""

from __future__ import annotations

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.spaces.nb101_cell import (
    CANDIDATE_OPS,
    MAX_EDGES,
    MAX_VERTICES,
    NB101Cell,
    is_full_dag,
)

#: chance that a 3(+)-edit positive deletes a degree-2 vertex (Choi et al.'s "ed3")
DELETE_VERTEX_PROBABILITY = 0.1
MAX_TRIES = 64


def is_valid_unpruned(matrix: np.ndarray) -> bool:
    """A valid cell exactly as given: size and edge limits, nothing to prune."""
    n = matrix.shape[0]
    return 2 <= n <= MAX_VERTICES and int(matrix.sum()) <= MAX_EDGES and is_full_dag(matrix)


def _reachability(matrix: np.ndarray) -> np.ndarray:
    """`reach[u, v]`: a path u -> ... -> v of length >= 1 exists."""
    reach = matrix.astype(bool)
    for _ in range(matrix.shape[0]):
        step = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
        if np.array_equal(step, reach):
            break
        reach = step
    return reach


def _topological(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]]:
    """Renumber a DAG's vertices in topological order (smallest index first among ready
    vertices), so the matrix is upper triangular again."""
    n = matrix.shape[0]
    indegree = matrix.sum(axis=0).astype(np.int64)
    order: list[int] = []
    ready = [v for v in range(n) if indegree[v] == 0]
    while ready:
        v = min(ready)
        ready.remove(v)
        order.append(v)
        for w in np.flatnonzero(matrix[v]):
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(int(w))
    return matrix[np.ix_(order, order)], [ops[v] for v in order]


def neighbour_specs(cell: NB101Cell) -> list[tuple[np.ndarray, list[str]]]:
    """Every single edit of `cell` that leaves a valid, unpruned cell: change one op, delete
    one edge, or add one edge in any direction that keeps the graph acyclic (an edge
    against the current vertex order is fine when no path runs the other way)."""
    matrix = np.array(cell.adjacency, dtype=np.uint8)
    ops = list(cell.operations)
    n = matrix.shape[0]
    out: list[tuple[np.ndarray, list[str]]] = []
    for v in range(1, n - 1):
        for op in CANDIDATE_OPS:
            if op != ops[v]:
                out.append((matrix, [*ops[:v], op, *ops[v + 1 :]]))
    reach = _reachability(matrix)
    for u in range(n - 1):  # the output has no out-edges
        for v in range(1, n):  # the input has no in-edges
            if u == v:
                continue
            edited = matrix.copy()
            if matrix[u, v]:
                edited[u, v] = 0
            elif reach[v, u]:
                continue  # would close a cycle
            else:
                edited[u, v] = 1
            edited_ops = ops
            if u > v:
                edited, edited_ops = _topological(edited, ops)
            if is_valid_unpruned(edited):
                out.append((edited, edited_ops))
    return out


def neighbours(cell: NB101Cell) -> list[NB101Cell]:
    """All distinct cells at edit distance exactly 1 (isomorphic results merged)."""
    found: dict[str, NB101Cell] = {}
    for matrix, ops in neighbour_specs(cell):
        other = NB101Cell(matrix, tuple(ops))
        found.setdefault(other.hash, other)
    found.pop(cell.hash, None)
    return list(found.values())


def random_edit(
    cell: NB101Cell, num_edits: int, rng: np.random.Generator, max_tries: int = MAX_TRIES
) -> NB101Cell:
    """A valid cell made by `num_edits` random edits of `cell` (Choi et al.'s positives).

    One edit flips an upper-triangular edge or replaces one op. For k edits a plan is drawn
    once: with k >= 3 and probability 0.1 (when some vertex of degree 2 can go without
    breaking the cell) three edits delete such a vertex with its two edges; the remaining
    edits split into op replacements and edge flips, the number of op replacements uniform
    among the feasible counts (ed2: two ops, op + edge, two edges), each on a distinct
    vertex or edge. The positions are redrawn up to `max_tries` times until the result is
    valid without pruning and differs from `cell` (so its edit distance is 1..k); a split
    that never works gives way to the other splits, and if none works the anchor itself
    is returned.
    """
    k = int(num_edits)
    if k < 1:
        raise InvalidOption(f"num_edits must be >= 1, got {num_edits}")
    start = (np.array(cell.adjacency, dtype=np.uint8), list(cell.operations))
    if k >= 3 and rng.random() < DELETE_VERTEX_PROBABILITY:
        deletions = _vertex_deletions(*start)
        if deletions:
            start = deletions[int(rng.integers(len(deletions)))]
            k -= 3
    matrix, ops = start
    n = len(ops)
    pairs = [(x, y) for y in range(n) for x in range(y)]
    feasible = [j for j in range(k + 1) if j <= n - 2 and k - j <= len(pairs)]
    if not feasible:
        return cell
    # the drawn split first; if it cannot be realised, the other splits (random order)
    first = int(rng.choice(feasible))
    others = [j for j in feasible if j != first]
    for num_ops in [first, *(others[i] for i in rng.permutation(len(others)))]:
        for _ in range(max_tries):
            flips = rng.choice(len(pairs), size=k - num_ops, replace=False)
            edited = _edit(matrix, ops, num_ops, [pairs[p] for p in flips], rng)
            if edited is not None and edited.hash != cell.hash:
                return edited
    return cell


def positives(
    cell: NB101Cell, rng: np.random.Generator, count: int = 7, max_edits: int = 3
) -> list[NB101Cell]:
    """`count` random edits of `cell`, each with 1..`max_edits` edits (uniform)."""
    if count < 0 or max_edits < 1:
        raise InvalidOption(f"need count >= 0 and max_edits >= 1, got {count}, {max_edits}")
    return [random_edit(cell, int(rng.integers(1, max_edits + 1)), rng) for _ in range(count)]


def _vertex_deletions(matrix: np.ndarray, ops: list[str]) -> list[tuple[np.ndarray, list[str]]]:
    """Each deletion of an inner vertex of degree 2 (with its edges) that leaves a valid,
    unpruned cell."""
    degree = matrix.sum(axis=0) + matrix.sum(axis=1)
    out = []
    for v in range(1, len(ops) - 1):
        if degree[v] == 2:
            keep = [w for w in range(len(ops)) if w != v]
            smaller = matrix[np.ix_(keep, keep)]
            if is_valid_unpruned(smaller):
                out.append((smaller, [ops[w] for w in keep]))
    return out


def _edit(
    matrix: np.ndarray,
    ops: list[str],
    num_ops: int,
    flips: list[tuple[int, int]],
    rng: np.random.Generator,
) -> NB101Cell | None:
    """Replace `num_ops` random inner ops and flip the given edges; None if invalid."""
    ops = list(ops)
    for v in rng.choice(np.arange(1, len(ops) - 1), size=num_ops, replace=False):
        ops[v] = str(rng.choice([op for op in CANDIDATE_OPS if op != ops[v]]))
    matrix = matrix.copy()
    for x, y in flips:
        matrix[x, y] ^= 1
    if not is_valid_unpruned(matrix):
        return None
    return NB101Cell(matrix, tuple(ops))
