"""The NAS-Bench-101 search space: ops on nodes, <= 7 vertices, <= 9 edges, 423,624 cells.

Pieces, one module each: `nb101_cell` (the cell type, validation and pruning),
`nb101_hash` (the official module hash), `nb101_enumerate` (all unique cells and their
cache file), `nb101_edits` (neighbours and random edits), `graph_edit` (exact edit
distance). This module ties them to the `SearchSpace` interface.

Node vocabulary of `ArchBatch.ops` (`NB101Space.node_ops`), arch2vec's order:
0 input, 1 conv1x1-bn-relu, 2 conv3x3-bn-relu, 3 maxpool3x3, 4 output; padding is -1.
A cell of n vertices fills rows 0..n-1 (output at n-1); rows n..6 are padding.

Edit distance is the exact graph edit distance (unit costs: edge insert/delete, op
substitution, vertex insert/delete) with the input mapped to the input and the output to
the output: they are the cell's fixed terminals, and an edit script that relabelled a
terminal as a conv would not describe any edit of a cell.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces import nb101_edits
from selfnas.spaces.base import SearchSpace, check_choices
from selfnas.spaces.batch import PAD, ArchBatch
from selfnas.spaces.graph_edit import graph_edit_distance, within_edit_distance
from selfnas.spaces.nb101_cell import (
    CANDIDATE_OPS,
    INPUT,
    MAX_VERTICES,
    NODE_OPS,
    OUTPUT,
    NB101Cell,
    cell_from_spec,
    on_input_output_path,
)
from selfnas.spaces.nb101_enumerate import NUM_CELLS, PAD_LABEL, bits_to_adjacency, cells
from selfnas.spaces.nb101_hash import HASH_OPS, INPUT_LABEL, OUTPUT_LABEL, module_hash

__all__ = ["NODE_OPS", "NB101Cell", "NB101Space", "NB101Table"]

_TERMINALS = frozenset({INPUT, OUTPUT})
#: (row, column) of each edge decision: the 7x7 upper triangle, row by row
_CHOICE_EDGES = tuple(zip(*(a.tolist() for a in np.triu_indices(MAX_VERTICES, 1)), strict=True))
_INNER = MAX_VERTICES - 2
_CANDIDATE_INDEX = {op: i for i, op in enumerate(CANDIDATE_OPS)}
#: hash label (+3, so the array index is >= 0) -> node-op index; PAD_LABEL -> PAD
_LABEL_TO_NODE = np.full(6, PAD, dtype=np.int8)
_LABEL_TO_NODE[PAD_LABEL + 3] = PAD
_LABEL_TO_NODE[INPUT_LABEL + 3] = NODE_OPS.index(INPUT)
_LABEL_TO_NODE[OUTPUT_LABEL + 3] = NODE_OPS.index(OUTPUT)
for _label, _op in enumerate(HASH_OPS):
    _LABEL_TO_NODE[_label + 3] = NODE_OPS.index(_op)


@dataclass(frozen=True)
class NB101Table:
    """Every unique cell as columns, sorted by hash (row i is cell i of `enumerate()`)."""

    hashes: np.ndarray  # [N] str (<U32), ascending
    adjacency: np.ndarray  # [N,7,7] uint8, padded at the end
    ops: np.ndarray  # [N,7] int8 indices into NODE_OPS, PAD = -1
    num_vertices: np.ndarray  # [N] int8

    def __len__(self) -> int:
        return len(self.hashes)

    def indices_of(self, hashes: Sequence[str] | np.ndarray) -> np.ndarray:
        """Row of each hash, -1 where the hash is not a cell of the space."""
        query = np.asarray(hashes, dtype="U32")
        pos = np.searchsorted(self.hashes, query)
        pos = np.minimum(pos, len(self.hashes) - 1)
        return np.where(self.hashes[pos] == query, pos, -1)

    def index_of(self, hash_: str) -> int:
        """Row of one hash; `InvalidArchitecture` if no cell has it."""
        row = int(self.indices_of([hash_])[0])
        if row < 0:
            raise InvalidArchitecture(f"no NAS-Bench-101 cell has hash {hash_!r}")
        return row

    def cell(self, row: int) -> NB101Cell:
        n = int(self.num_vertices[row])
        ops = tuple(NODE_OPS[i] for i in self.ops[row, :n])
        return NB101Cell(self.adjacency[row, :n, :n], ops, str(self.hashes[row]))

    def cells(self, rows: Sequence[int] | np.ndarray) -> list[NB101Cell]:
        return [self.cell(int(r)) for r in rows]


class NB101Space(SearchSpace[NB101Cell]):
    """NAS-Bench-101 cells (see the module docstring for the tensor layout)."""

    name = "nb101"
    node_ops = NODE_OPS
    op_on_edge = False
    num_vertices = MAX_VERTICES

    @property
    def size(self) -> int:
        return NUM_CELLS

    @property
    def unique(self) -> int:
        return NUM_CELLS

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        return CANDIDATE_OPS

    # --- cells from text ------------------------------------------------------
    def from_spec(self, adjacency: Any, operations: Any) -> NB101Cell:
        """Validate and prune a raw spec; `InvalidArchitecture` says what is wrong."""
        return cell_from_spec(adjacency, operations)

    def parse(self, text: str) -> NB101Cell:
        """A JSON spec: `{"adjacency": [[..]], "operations": [..]}` (the official names
        `module_adjacency` / `module_operations` and `matrix` / `ops` work too)."""
        try:
            spec = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidArchitecture(f"not a JSON cell spec: {exc}") from None
        if not isinstance(spec, dict):
            raise InvalidArchitecture("a cell spec is a JSON object with adjacency and operations")
        for adj_key, ops_key in (
            ("adjacency", "operations"),
            ("module_adjacency", "module_operations"),
            ("matrix", "ops"),
        ):
            if adj_key in spec and ops_key in spec:
                return self.from_spec(spec[adj_key], spec[ops_key])
        raise InvalidArchitecture(
            f"a cell spec needs 'adjacency' and 'operations' keys, got {sorted(spec)}"
        )

    def format(self, arch: NB101Cell) -> str:
        return json.dumps(_as_cell(arch).to_spec(), separators=(",", ":"))

    def hash(self, arch: NB101Cell) -> str:
        return _as_cell(arch).hash

    # --- categorical decisions ------------------------------------------------
    @property
    def choices(self) -> tuple[int, ...]:
        """A 7-vertex spec as the NAS-Bench-101 paper's REINFORCE samples it: 21 edge bits
        (upper triangle, row by row; 1 = edge), then the op of inner vertices 1..5
        (`CANDIDATE_OPS` order). Specs the benchmark rejects spell no cell."""
        return (2,) * len(_CHOICE_EDGES) + (len(CANDIDATE_OPS),) * _INNER

    def from_choices(self, indices: Sequence[int]) -> NB101Cell | None:
        """The spec's cell, pruned as `from_spec` prunes, or None where the benchmark has
        no such cell (input and output unconnected, more than 9 edges once pruned)."""
        values = check_choices(indices, self.choices)
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        for (row, column), bit in zip(_CHOICE_EDGES, values, strict=False):
            matrix[row, column] = bit
        inner = [CANDIDATE_OPS[i] for i in values[len(_CHOICE_EDGES) :]]
        try:
            return cell_from_spec(matrix, [INPUT, *inner, OUTPUT])
        except InvalidArchitecture:
            return None

    def to_choices(self, arch: NB101Cell) -> tuple[int, ...]:
        """A cell of n vertices keeps vertices 0..n-2 in place and its output at vertex 6;
        the unused inner vertices get no edges (pruned again) and op index 0."""
        cell = _as_cell(arch)
        n = cell.num_vertices
        position = [*range(n - 1), MAX_VERTICES - 1]
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        matrix[np.ix_(position, position)] = cell.adjacency
        ops = [_CANDIDATE_INDEX[op] for op in cell.operations[1:-1]]
        ops += [0] * (_INNER - len(ops))
        return (*(int(matrix[r, c]) for r, c in _CHOICE_EDGES), *ops)

    # --- population -----------------------------------------------------------
    def table(self) -> NB101Table:
        """All cells as columns, from the cache (built on first use, ~10-60 s)."""
        return self._table

    @cached_property
    def _table(self) -> NB101Table:
        data = cells()
        return NB101Table(
            hashes=data.hashes.astype("U32"),
            adjacency=bits_to_adjacency(data.bits),
            ops=_LABEL_TO_NODE[data.labels.astype(np.int64) + 3],
            num_vertices=data.num_vertices,
        )

    def enumerate(self) -> list[NB101Cell]:
        table = self.table()
        return table.cells(range(len(table)))

    def sample(self, n: int, rng: np.random.Generator) -> list[NB101Cell]:
        """`n` cells uniform over the unique cells (with replacement)."""
        if n < 0:
            raise InvalidOption(f"sample size must be >= 0, got {n}")
        table = self.table()
        return table.cells(rng.integers(0, len(table), size=n))

    def mutate(self, arch: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        """A uniformly chosen neighbour (edit distance exactly 1)."""
        options = self.neighbours(arch)
        if not options:
            raise InvalidArchitecture(f"{arch!r} has no valid cell at edit distance 1")
        return options[int(rng.integers(len(options)))]

    def neighbours(self, arch: NB101Cell) -> list[NB101Cell]:
        return nb101_edits.neighbours(_as_cell(arch))

    def random_edit(self, arch: NB101Cell, num_edits: int, rng: np.random.Generator) -> NB101Cell:
        return nb101_edits.random_edit(_as_cell(arch), num_edits, rng)

    def positives(
        self, arch: NB101Cell, rng: np.random.Generator, count: int = 7, max_edits: int = 3
    ) -> list[NB101Cell]:
        """`count` positives for locality pretraining, each <= `max_edits` edits away."""
        return nb101_edits.positives(_as_cell(arch), rng, count, max_edits)

    def edit_distance(self, a: NB101Cell, b: NB101Cell) -> int:
        a, b = _as_cell(a), _as_cell(b)
        if a.hash == b.hash:
            return 0
        return graph_edit_distance(
            a.adjacency, a.operations, b.adjacency, b.operations, anchored=_TERMINALS
        )

    def within_edit_distance(self, a: NB101Cell, b: NB101Cell, bound: int) -> bool:
        """`edit_distance(a, b) <= bound`, with a cheap lower bound tried first."""
        a, b = _as_cell(a), _as_cell(b)
        if a.hash == b.hash:
            return bound >= 0
        return within_edit_distance(
            a.adjacency, a.operations, b.adjacency, b.operations, bound, anchored=_TERMINALS
        )

    # --- tensors --------------------------------------------------------------
    def batch(self, archs: Sequence[NB101Cell]) -> ArchBatch:
        """Cells in their canonical vertex order (the table's), so isomorphic cells written
        with their vertices in different orders give one tensor: an encoder that reads
        vertex positions (`GIN(vertex_ids=...)`) then still embeds a cell, not a spelling."""
        table = self.table()
        hashes = [_as_cell(arch).hash for arch in archs]
        rows = table.indices_of(hashes) if hashes else np.zeros(0, dtype=np.int64)
        if (rows < 0).any():
            missing = hashes[int(np.flatnonzero(rows < 0)[0])]
            raise InvalidArchitecture(f"no NAS-Bench-101 cell has hash {missing!r}")
        return ArchBatch.from_numpy(table.adjacency[rows], table.ops[rows], NODE_OPS)

    def batch_all(self) -> ArchBatch:
        """Every cell, in `table()` row order."""
        table = self.table()
        return ArchBatch.from_numpy(table.adjacency, table.ops, NODE_OPS)

    def hashes_all(self) -> list[str]:
        """Every cell's hash, in `table()` row order (the table is sorted by them)."""
        return self.table().hashes.tolist()

    def unpruned_hash(self, adj: np.ndarray, ops: np.ndarray) -> str:
        """nasbench's graph hash of a decoded graph as decoded: before pruning, stray
        vertices and their ops included. The published arch2vec code counts uniqueness
        this way, so two draws that are the same cell count twice when their unused
        vertices differ; `hash` (the canonical cell) is what `uniqueness` counts."""
        edges = np.triu(np.asarray(adj, dtype=np.float64) > 0.5, 1).astype(np.int64)
        labels = [int(o) if o != PAD else len(NODE_OPS) for o in np.asarray(ops).ravel()]
        return module_hash(edges, labels)

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> NB101Cell | None:
        """A decoder's node-form graph -> the valid cell it spells, or None.

        `adj [V,V]`: 0/1 or probabilities (an edge where > 0.5); `ops [V]`: node-op indices
        (PAD = -1 marks "no vertex here") or `[V, len(node_ops)]` scores (argmax; an all-zero
        row is padding). Vertex 0 is the input, the last non-padding vertex the output. As
        nasbench's `ModelSpec` does, vertices on no input-to-output path are pruned first
        and the rules (ops in place, <= 7 vertices, <= 9 edges) apply to what remains: a
        pruned vertex may hold any op or padding, a kept one must hold a real op."""
        adj = np.asarray(adj, dtype=np.float64)
        ops = np.asarray(ops)
        if ops.ndim == 2:
            scores = ops
            ops = np.where(np.abs(scores).sum(axis=1) > 0, scores.argmax(axis=1), PAD)
        ops = ops.astype(np.int64)
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != ops.shape[0]:
            return None
        if np.any(ops >= len(NODE_OPS)) or np.any(ops < PAD):
            return None
        real = np.flatnonzero(ops != PAD)
        if len(real) < 2 or real[0] != 0:
            return None
        n = int(real[-1]) + 1  # vertices after the output cannot reach it: pruned
        edges = adj[:n, :n] > 0.5
        if np.tril(edges).any():
            return None
        keep = on_input_output_path(edges)
        if not (keep[0] and keep[-1]) or np.any(ops[:n][keep] == PAD):
            return None
        kept_ops = [NODE_OPS[i] for i in ops[:n][keep]]
        try:
            return cell_from_spec(edges[np.ix_(keep, keep)].astype(np.uint8), kept_ops)
        except InvalidArchitecture:
            return None


def _as_cell(arch: Any) -> NB101Cell:
    if not isinstance(arch, NB101Cell):
        raise InvalidArchitecture(f"not an NB101 cell: {type(arch).__name__}")
    return arch
