"""NB101 cells: validation with precise errors, pruning as nasbench does, equality by hash."""

from __future__ import annotations

import collections
import dataclasses
import json

import numpy as np
import pytest

from conftest import shared_file
from selfnas.errors import InvalidArchitecture
from selfnas.spaces.nb101 import NB101Space
from selfnas.spaces.nb101_cell import on_input_output_path

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
SPACE = NB101Space()


def chain(n: int) -> np.ndarray:
    """input -> 1 -> ... -> output."""
    return np.eye(n, k=1, dtype=np.uint8)


def ops_for(n: int) -> list[str]:
    return ["input", *([C3, C1, MP] * 3)[: n - 2], "output"]


def reference_prune(matrix: np.ndarray) -> list[int]:
    """Kept vertices by plain DFS, as nasbench's ModelSpec._prune describes it."""
    n = len(matrix)
    seen_in, stack = {0}, [0]
    while stack:
        top = stack.pop()
        for v in range(top + 1, n):
            if matrix[top][v] and v not in seen_in:
                seen_in.add(v)
                stack.append(v)
    seen_out, stack = {n - 1}, [n - 1]
    while stack:
        top = stack.pop()
        for v in range(top):
            if matrix[v][top] and v not in seen_out:
                seen_out.add(v)
                stack.append(v)
    return sorted(seen_in & seen_out)


# --- pruning ------------------------------------------------------------------
def test_vertex_without_out_edge_is_pruned():
    matrix = chain(5)
    matrix[1, 4] = 1
    matrix[2, 3] = 0  # vertex 2 has no out-edge now, vertex 3 no in-edge
    cell = SPACE.from_spec(matrix, ops_for(5))
    assert cell.num_vertices == 3
    assert cell.adjacency.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert cell.operations == ("input", C3, "output")


def test_pruning_is_transitive_and_keeps_order():
    # 0->1->2->6, 0->3->4, 4->5 (dangling branch 3,4,5 never reaches the output)
    matrix = np.zeros((7, 7), dtype=np.uint8)
    for a, b in [(0, 1), (1, 2), (2, 6), (0, 3), (3, 4), (4, 5)]:
        matrix[a, b] = 1
    ops = ["input", C1, MP, C3, C3, C3, "output"]
    cell = SPACE.from_spec(matrix, ops)
    assert cell.operations == ("input", C1, MP, "output")
    assert cell.num_edges == 3


def test_pruning_matches_reference_dfs_on_random_specs():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        matrix = np.triu(rng.integers(0, 2, (n, n)), 1).astype(np.uint8)
        keep = reference_prune(matrix)
        mask = on_input_output_path(matrix)
        assert np.flatnonzero(mask).tolist() == (
            keep if 0 in keep and n - 1 in keep else np.flatnonzero(mask).tolist()
        )
        if len(keep) < 2 or keep[0] != 0 or keep[-1] != n - 1:
            with pytest.raises(InvalidArchitecture, match="not connected"):
                SPACE.from_spec(matrix, ops_for(n))
            continue
        pruned = matrix[np.ix_(keep, keep)]
        if pruned.sum() > 9:
            continue
        cell = SPACE.from_spec(matrix, ops_for(n))
        assert cell.adjacency.tolist() == pruned.tolist()
        assert list(cell.operations) == [ops_for(n)[v] for v in keep]


def test_val500_specs_prune_to_cells_whose_runs_agree():
    """Raw specs that prune to one cell must share that cell's (at most 3) training runs."""
    items = json.loads(shared_file("nb101/nb101_val500.json").read_text())
    accuracies = collections.defaultdict(set)
    for item in items:
        cell = SPACE.from_spec(item["adjacency"], item["operations"])
        assert 2 <= cell.num_vertices <= 7 and cell.num_edges <= 9
        accuracies[cell.hash].add(round(item["val_accuracy"], 6))
    assert len(accuracies) < len(items)  # many raw specs collapse after pruning
    assert max(len(runs) for runs in accuracies.values()) <= 3


def test_limits_apply_after_pruning():
    # 8 vertices: a chain 0->1->2->3->4->5->7 plus vertex 6 hanging off the input;
    # pruning drops vertex 6, and nasbench accepts the remaining 7
    matrix = np.zeros((8, 8), dtype=np.uint8)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 7), (0, 6)]:
        matrix[a, b] = 1
    ops = ["input", C3, C1, MP, C3, C1, MP, "output"]
    cell = SPACE.from_spec(matrix, ops)
    assert cell.operations == ("input", C3, C1, MP, C3, C1, "output")
    assert cell.num_edges == 6
    # more than 9 edges before pruning, 9 after
    dense = np.zeros((7, 7), dtype=np.uint8)
    for a, b in [(0, 1), (1, 6), (0, 6), (0, 2), (2, 6), (0, 3), (3, 6), (1, 2), (2, 3)]:
        dense[a, b] = 1
    dense[0, 4] = dense[4, 5] = dense[0, 5] = 1  # vertices 4, 5 never reach the output
    assert dense.sum() == 12
    assert SPACE.from_spec(dense, ops_for(7)).num_edges == 9


# --- errors -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("adjacency", "operations", "message"),
    [
        ([[0, 1, 0], [0, 0, 1]], ops_for(3), "not square"),
        ([[0, 1], [0, 0, 1]], ops_for(2), "not a matrix"),
        ([[0, 1, 1], [0, 0, 1], [0, 0]], ops_for(3), "not a matrix"),
        (chain(8), ops_for(8), "too many vertices: 8"),
        ([[0]], ["input"], "at least 2 vertices"),
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], ops_for(3), r"not upper triangular: entry \(2, 0\)"),
        ([[1, 1], [0, 0]], ops_for(2), r"not upper triangular: entry \(0, 0\)"),
        ([[0, 2], [0, 0]], ops_for(2), r"0 or 1: entry \(0, 1\) is 2"),
        ([[0, 0.5], [0, 0]], ops_for(2), "0 or 1"),
        ([["a", "b"], ["c", "d"]], ops_for(2), "0 or 1"),
        (chain(3), ["input", "conv5x5", "output"], "unknown operation 'conv5x5' at vertex 1"),
        (chain(3), ["input", 3, "output"], "unknown operation 3 at vertex 1"),
        (chain(3), [C3, C3, "output"], "first operation must be 'input'"),
        (chain(3), ["input", C3, C3], "last operation must be 'output'"),
        (chain(4), ["input", "input", C3, "output"], "only the first vertex is the input"),
        (chain(3), ["input", "output"], "length mismatch: 2 operations for a 3x3"),
        (chain(3), "input,conv,output", "list of op names"),
        (np.zeros((3, 3), dtype=int), ops_for(3), "input and output are not connected"),
    ],
)
def test_invalid_specs_name_the_rule_they_break(adjacency, operations, message):
    with pytest.raises(InvalidArchitecture, match=message):
        SPACE.from_spec(adjacency, operations)


def test_more_than_nine_edges_after_pruning_is_rejected():
    full = np.triu(np.ones((7, 7), dtype=np.uint8), 1)
    with pytest.raises(InvalidArchitecture, match="too many edges: 21 after pruning"):
        SPACE.from_spec(full, ops_for(7))


# --- identity -----------------------------------------------------------------
def _isomorphic_copy(cell, rng):
    """The same cell with its intermediate vertices renumbered in another topological order."""
    n = cell.num_vertices
    matrix = np.array(cell.adjacency)
    while True:
        perm = [0, *(1 + rng.permutation(n - 2)), n - 1]  # new position of each vertex
        moved = np.zeros_like(matrix)
        moved[np.ix_(perm, perm)] = matrix
        if not np.tril(moved).any():
            ops = [None] * n
            for old, new in enumerate(perm):
                ops[new] = cell.operations[old]
            return moved, ops


def test_isomorphic_cells_are_equal_and_hash_alike():
    rng = np.random.default_rng(3)
    items = json.loads(shared_file("nb101/nb101_official_30.json").read_text())
    for record in items.values():
        cell = SPACE.from_spec(record["module_adjacency"], record["module_operations"])
        matrix, ops = _isomorphic_copy(cell, rng)
        twin = SPACE.from_spec(matrix, ops)
        assert twin == cell and hash(twin) == hash(cell) and len({twin, cell}) == 1
    a, b = (
        SPACE.from_spec(r["module_adjacency"], r["module_operations"])
        for r in list(items.values())[:2]
    )
    assert a != b and len({a, b}) == 2


def test_cells_are_immutable_and_round_trip_through_text():
    cell = SPACE.from_spec(chain(4), ops_for(4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.operations = ()  # type: ignore[misc]
    with pytest.raises(ValueError):
        cell.adjacency[0, 1] = 0
    text = SPACE.format(cell)
    assert (
        json.loads(text)
        == cell.to_spec()
        == {"adjacency": chain(4).tolist(), "operations": ops_for(4)}
    )
    assert SPACE.parse(text) == cell and SPACE.hash(cell) == cell.hash
    official = json.dumps({"module_adjacency": chain(4).tolist(), "module_operations": ops_for(4)})
    assert SPACE.parse(official) == cell


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a JSON cell spec"),
        ("[1, 2]", "JSON object"),
        ('{"adjacency": [[0, 1], [0, 0]]}', "needs 'adjacency' and 'operations'"),
        ('{"adjacency": [[0, 1], [0, 0]], "operations": ["input", "out"]}', "unknown operation"),
    ],
)
def test_parse_errors_are_invalid_architecture(text, message):
    with pytest.raises(InvalidArchitecture, match=message):
        SPACE.parse(text)
