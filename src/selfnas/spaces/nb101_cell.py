"""`NB101Cell` and the benchmark's rules for turning a raw spec into one.

A spec is an upper-triangular 0/1 adjacency (vertex 0 the input, the last the output) plus
one op name per vertex. As nasbench's `ModelSpec._prune` does, vertices that lie on no
input-to-output path are dropped; the spec is invalid when input and output are not
connected. As nasbench's `api._check_spec` does, the vertex (<= 7) and edge (<= 9) limits
apply to the *pruned* cell. Unlike nasbench, every op name is checked, pruned or not, so a
typo never passes silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from selfnas.errors import InvalidArchitecture
from selfnas.spaces.nb101_hash import HASH_OPS, INPUT_LABEL, OUTPUT_LABEL, module_hash

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: the ops a vertex between input and output may hold
CANDIDATE_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: node vocabulary of `ArchBatch.ops` (arch2vec's order, so its encoders' conventions hold)
NODE_OPS: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
MAX_VERTICES = 7
MAX_EDGES = 9

_HASH_LABEL = {INPUT: INPUT_LABEL, OUTPUT: OUTPUT_LABEL} | {op: i for i, op in enumerate(HASH_OPS)}


@dataclass(frozen=True, eq=False, repr=False)
class NB101Cell:
    """A pruned, valid NAS-Bench-101 cell; equal to any isomorphic cell (same hash).

    Build one with `NB101Space.from_spec` (validates and prunes); `adjacency` is a
    read-only uint8 array.
    """

    adjacency: np.ndarray
    operations: tuple[str, ...]
    hash: str = field(default="")

    def __post_init__(self) -> None:
        adjacency = np.array(self.adjacency, dtype=np.uint8)
        adjacency.flags.writeable = False
        object.__setattr__(self, "adjacency", adjacency)
        object.__setattr__(self, "operations", tuple(self.operations))
        if not self.hash:
            labels = [_HASH_LABEL[op] for op in self.operations]
            object.__setattr__(self, "hash", module_hash(adjacency, labels))

    @property
    def num_vertices(self) -> int:
        return len(self.operations)

    @property
    def num_edges(self) -> int:
        return int(self.adjacency.sum())

    def to_spec(self) -> dict[str, Any]:
        """`{"adjacency": [[..]], "operations": [..]}` (plain lists, JSON-ready)."""
        return {"adjacency": self.adjacency.tolist(), "operations": list(self.operations)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NB101Cell):
            return NotImplemented
        return self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"NB101Cell({self.hash}, {self.num_vertices} vertices, {self.num_edges} edges)"


def cell_from_spec(adjacency: Any, operations: Any) -> NB101Cell:
    """Validate a raw spec, prune it as the benchmark does, and return the cell.

    Raises `InvalidArchitecture` naming the first rule the spec breaks.
    """
    matrix = _as_matrix(adjacency)
    ops = _as_ops(operations, matrix.shape[0])
    keep = on_input_output_path(matrix)
    if not (keep[0] and keep[-1]):
        raise InvalidArchitecture("input and output are not connected")
    matrix = matrix[np.ix_(keep, keep)]
    ops = [op for op, kept in zip(ops, keep, strict=True) if kept]
    if len(ops) > MAX_VERTICES:
        raise InvalidArchitecture(
            f"too many vertices: {len(ops)} after pruning (at most {MAX_VERTICES})"
        )
    edges = int(matrix.sum())
    if edges > MAX_EDGES:
        raise InvalidArchitecture(f"too many edges: {edges} after pruning (at most {MAX_EDGES})")
    return NB101Cell(matrix, tuple(ops))


def on_input_output_path(matrix: np.ndarray) -> np.ndarray:
    """Bool per vertex: reachable from vertex 0 and reaching the last vertex (the
    vertices `ModelSpec._prune` keeps). `matrix` is upper triangular."""
    n = matrix.shape[0]
    forward = np.zeros(n, dtype=bool)
    backward = np.zeros(n, dtype=bool)
    forward[0] = True
    backward[n - 1] = True
    edges = matrix.astype(bool)
    for v in range(1, n):
        forward[v] = bool(np.any(forward[:v] & edges[:v, v]))
    for v in range(n - 2, -1, -1):
        backward[v] = bool(np.any(backward[v + 1 :] & edges[v, v + 1 :]))
    return forward & backward


def is_full_dag(matrix: np.ndarray) -> bool:
    """True when nothing would be pruned: every vertex but the last has an out-edge and
    every vertex but the first an in-edge (nasbench `graph_util.is_full_dag`)."""
    return bool(np.all(matrix[:-1].any(axis=1)) and np.all(matrix[:, 1:].any(axis=0)))


def _as_matrix(adjacency: Any) -> np.ndarray:
    try:
        matrix = np.array(adjacency)
    except (ValueError, TypeError) as exc:
        raise InvalidArchitecture(f"adjacency is not a matrix: {exc}") from None
    if matrix.dtype == object:
        raise InvalidArchitecture("adjacency is not a matrix: rows have different lengths")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InvalidArchitecture(f"adjacency is not square: shape {tuple(matrix.shape)}")
    n = matrix.shape[0]
    if n < 2:
        raise InvalidArchitecture(f"a cell needs at least 2 vertices (input, output), got {n}")
    if matrix.dtype.kind not in "biuf":
        raise InvalidArchitecture(f"adjacency entries must be 0 or 1, got {matrix.dtype} values")
    bad = np.argwhere((matrix != 0) & (matrix != 1))
    if len(bad):
        i, j = (int(x) for x in bad[0])
        raise InvalidArchitecture(
            f"adjacency entries must be 0 or 1: entry ({i}, {j}) is {matrix[i, j]}"
        )
    lower = np.argwhere(np.tril(matrix) != 0)
    if len(lower):
        i, j = (int(x) for x in lower[0])
        raise InvalidArchitecture(
            f"adjacency is not upper triangular: entry ({i}, {j}) is 1 (edges must go from a "
            "lower to a higher vertex index)"
        )
    return matrix.astype(np.uint8)


def _as_ops(operations: Any, n: int) -> list[str]:
    if isinstance(operations, str) or not isinstance(operations, Sequence):
        raise InvalidArchitecture("operations must be a list of op names")
    ops = list(operations)
    if len(ops) != n:
        raise InvalidArchitecture(f"length mismatch: {len(ops)} operations for a {n}x{n} adjacency")
    for v, op in enumerate(ops):
        if not isinstance(op, str) or op not in _HASH_LABEL:
            allowed = ", ".join((INPUT, *CANDIDATE_OPS, OUTPUT))
            raise InvalidArchitecture(
                f"unknown operation {op!r} at vertex {v}; expected one of {allowed}"
            )
    if ops[0] != INPUT:
        raise InvalidArchitecture(f"first operation must be 'input', got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise InvalidArchitecture(f"last operation must be 'output', got {ops[-1]!r}")
    for v, op in enumerate(ops[1:-1], start=1):
        if op in (INPUT, OUTPUT):
            raise InvalidArchitecture(
                f"operation {op!r} at vertex {v}: only the first vertex is the input and only "
                "the last the output"
            )
    return ops


def hash_labels(operations: Sequence[str]) -> list[int]:
    """Official hash labels of op names (input -1, output -2, ops by `HASH_OPS`)."""
    return [_HASH_LABEL[op] for op in operations]
