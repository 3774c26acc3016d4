"""The DARTS / NAS-Bench-301 search space: a normal and a reduction cell, ops on edges.

The genotype type, op names and the DARTS repository's text form live in
`darts_genotype` (re-exported here so `from selfnas.spaces.darts import Genotype` works).

Size: intermediate node k (0..3) picks an unordered pair of distinct inputs from k + 2
candidates and an op for each, so one cell has prod_k C(k+2, 2) * 7**2 = 180 * 7**8 =
1,037,664,180 genotypes and a normal + reduce pair has that squared,
1,076,746,950,455,072,400 (~1.1e18). Functionally equivalent genotypes (e.g. with
intermediate nodes relabelled) are counted separately, so `unique` is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import comb

import numpy as np

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces.base import SearchSpace, check_choices
from selfnas.spaces.batch import PAD, ArchBatch
from selfnas.spaces.darts_genotype import (
    CONCAT,
    DARTS_OPS,
    DARTS_V2,
    NUM_CELL_INPUTS,
    NUM_NODES,
    PRIMITIVES,
    Cell,
    Edge,
    Genotype,
    format_genotype,
    parse_genotype,
)

#: node-form vocabulary: arch2vec's DARTS labels, in its index order
NODE_OPS: tuple[str, ...] = ("c_k-2", "c_k-1", *PRIMITIVES, "output")
#: vertices per cell in node form: two inputs, one per edge (8), the output
CELL_VERTICES = NUM_CELL_INPUTS + 2 * NUM_NODES + 1
NUM_VERTICES = 2 * CELL_VERTICES
CELL_SIZE = comb(2, 2) * comb(3, 2) * comb(4, 2) * comb(5, 2) * len(DARTS_OPS) ** (2 * NUM_NODES)

_NODE_OP_INDEX = {op: i for i, op in enumerate(NODE_OPS)}
_DARTS_OP_INDEX = {op: i for i, op in enumerate(DARTS_OPS)}
#: per intermediate node, its candidate input pairs (sorted, as a canonical cell holds them)
_INPUT_PAIRS: tuple[tuple[tuple[int, int], ...], ...] = tuple(
    tuple(combinations(range(node + NUM_CELL_INPUTS), 2)) for node in range(NUM_NODES)
)
#: categorical decisions of one cell: per node its input pair, then the op of each edge
_CELL_CHOICES: tuple[int, ...] = tuple(
    n for pairs in _INPUT_PAIRS for n in (len(pairs), len(DARTS_OPS), len(DARTS_OPS))
)
_OUTPUT = CELL_VERTICES - 1
_OUTPUT_OP = _NODE_OP_INDEX["output"]


def _source_vertices(source: int) -> tuple[int, ...]:
    """Vertices (within one cell) that feed an edge whose input is cell node `source`."""
    if source < NUM_CELL_INPUTS:
        return (source,)
    first = NUM_CELL_INPUTS + 2 * (source - NUM_CELL_INPUTS)
    return (first, first + 1)


def _cell_graph(cell: Sequence[Edge]) -> tuple[np.ndarray, np.ndarray]:
    """arch2vec's 11-vertex graph of one cell (pairs in the given order).

    Vertices: 0 c_{k-2}, 1 c_{k-1}, 2 + i the op of the i-th (op, input) pair, 10 output.
    An edge's vertex is fed by its input (both op vertices of an intermediate input node)
    and, since every intermediate node is concatenated, feeds the output.
    """
    adj = np.zeros((CELL_VERTICES, CELL_VERTICES), dtype=np.int64)
    ops = np.empty(CELL_VERTICES, dtype=np.int64)
    ops[0], ops[1], ops[_OUTPUT] = 0, 1, _NODE_OP_INDEX["output"]
    for i, (op, source) in enumerate(cell):
        vertex = NUM_CELL_INPUTS + i
        ops[vertex] = _NODE_OP_INDEX[op]
        adj[list(_source_vertices(source)), vertex] = 1
        adj[vertex, _OUTPUT] = 1
    return adj, ops


def genotype_graph(genotype: Genotype) -> tuple[np.ndarray, np.ndarray]:
    """The 22-vertex node form: the normal cell's graph, then the reduction cell's.

    arch2vec encodes a single cell (its DARTS search ties the two cells); here both cells
    are kept, joined the way the network joins them: the normal cell's output feeds both
    inputs of the reduction cell, so the graph stays one topologically ordered DAG and an
    encoder can tell the two cells apart.
    """
    adj = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
    ops = np.empty(NUM_VERTICES, dtype=np.int64)
    for c, cell in enumerate(genotype.cells):
        cell_adj, cell_ops = _cell_graph(cell)
        start = c * CELL_VERTICES
        adj[start : start + CELL_VERTICES, start : start + CELL_VERTICES] = cell_adj
        ops[start : start + CELL_VERTICES] = cell_ops
    adj[_OUTPUT, CELL_VERTICES : CELL_VERTICES + NUM_CELL_INPUTS] = 1
    return adj, ops


def _node_distance(a: Sequence[Edge], b: Sequence[Edge]) -> int:
    """Fewest edits turning one node's two (op, input) edges into the other's."""

    def cost(x: Edge, y: Edge) -> int:
        return int(x[0] != y[0]) + int(x[1] != y[1])

    straight = cost(a[0], b[0]) + cost(a[1], b[1])
    crossed = cost(a[0], b[1]) + cost(a[1], b[0])
    return min(straight, crossed)


def _replace_edge(genotype: Genotype, cell_index: int, slot: int, edge: Edge) -> Genotype:
    cells = [list(genotype.normal), list(genotype.reduce)]
    cells[cell_index][slot] = edge
    return Genotype(normal=tuple(cells[0]), reduce=tuple(cells[1]))


def _moves(genotype: Genotype) -> list[tuple[int, int, Edge]]:
    """Every single edit as (cell, slot, new edge): one edge's op or one edge's input."""
    moves: list[tuple[int, int, Edge]] = []
    for c, cell in enumerate(genotype.cells):
        for slot, (op, source) in enumerate(cell):
            node = slot // 2
            other = cell[slot ^ 1][1]
            moves.extend((c, slot, (new, source)) for new in DARTS_OPS if new != op)
            moves.extend(
                (c, slot, (op, new))
                for new in range(node + NUM_CELL_INPUTS)
                if new not in (source, other)
            )
    return moves


class DartsSpace(SearchSpace[Genotype]):
    """NAS-Bench-301's DARTS space; archs are `Genotype`s in canonical order."""

    name = "darts"
    node_ops = NODE_OPS
    op_on_edge = True
    num_vertices = NUM_VERTICES

    @property
    def size(self) -> int:
        return CELL_SIZE**2

    @property
    def unique(self) -> int | None:
        return None

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        return DARTS_OPS

    # --- text -----------------------------------------------------------------
    def parse(self, text: str) -> Genotype:
        return parse_genotype(text)

    def format(self, arch: Genotype) -> str:
        return format_genotype(self._check(arch))

    def hash(self, arch: Genotype) -> str:
        return format_genotype(self._check(arch))

    # --- categorical decisions ------------------------------------------------
    @property
    def choices(self) -> tuple[int, ...]:
        """The normal cell's decisions, then the reduce cell's; per intermediate node k:
        its input pair (one of C(k+2, 2), in `combinations` order), the op of the edge
        from the lower input, the op of the edge from the higher one (`DARTS_OPS` order).
        Every combination is a valid genotype."""
        return _CELL_CHOICES * 2

    def from_choices(self, indices: Sequence[int]) -> Genotype:
        values = check_choices(indices, self.choices)
        cells: list[Cell] = []
        for c in range(2):
            cell: list[Edge] = []
            for node, pairs in enumerate(_INPUT_PAIRS):
                start = 3 * (c * NUM_NODES + node)
                pair, low_op, high_op = values[start : start + 3]
                low, high = pairs[pair]
                cell += [(DARTS_OPS[low_op], low), (DARTS_OPS[high_op], high)]
            cells.append(tuple(cell))
        return Genotype(normal=cells[0], reduce=cells[1])

    def to_choices(self, arch: Genotype) -> tuple[int, ...]:
        out: list[int] = []
        for cell in self._check(arch).cells:
            for node, pairs in enumerate(_INPUT_PAIRS):
                (low_op, low), (high_op, high) = cell[2 * node : 2 * node + 2]
                out += [pairs.index((low, high)), _DARTS_OP_INDEX[low_op], _DARTS_OP_INDEX[high_op]]
        return tuple(out)

    # --- population -----------------------------------------------------------
    def enumerate(self) -> list[Genotype]:
        raise InvalidOption(
            f"the DARTS space holds {self.size:,} genotypes and cannot be enumerated; "
            "sample it instead"
        )

    def _sample_cell(self, rng: np.random.Generator) -> list[Edge]:
        cell: list[Edge] = []
        for node in range(NUM_NODES):
            sources = rng.choice(node + NUM_CELL_INPUTS, size=2, replace=False)
            ops = rng.integers(0, len(DARTS_OPS), size=2)
            cell.extend((DARTS_OPS[int(o)], int(s)) for o, s in zip(ops, sources, strict=True))
        return cell

    def sample(self, n: int, rng: np.random.Generator) -> list[Genotype]:
        """Uniform over genotypes: each node's input pair and both ops drawn uniformly."""
        return [
            Genotype(normal=tuple(self._sample_cell(rng)), reduce=tuple(self._sample_cell(rng)))
            for _ in range(int(n))
        ]

    def mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        """A uniformly random neighbour (one edge's op or input changed)."""
        moves = _moves(self._check(arch))
        c, slot, edge = moves[int(rng.integers(len(moves)))]
        return _replace_edge(arch, c, slot, edge)

    def neighbours(self, arch: Genotype) -> list[Genotype]:
        """All 120 genotypes one edit away (per cell: 48 op changes, 12 input moves)."""
        arch = self._check(arch)
        found = {_replace_edge(arch, c, slot, edge): None for c, slot, edge in _moves(arch)}
        return list(found)

    def random_edit(self, arch: Genotype, num_edits: int, rng: np.random.Generator) -> Genotype:
        """`num_edits` edits on distinct edges, retried so the result lies exactly
        `num_edits` away where a few draws allow (never more than that)."""
        arch = self._check(arch)
        if not 0 <= num_edits <= 4 * NUM_NODES:
            raise InvalidOption(f"DARTS allows 0..{4 * NUM_NODES} edits, got {num_edits}")
        best = arch
        for _ in range(8):
            current = arch
            slots = rng.choice(4 * NUM_NODES, size=num_edits, replace=False)
            for flat in slots:
                c, slot = divmod(int(flat), 2 * NUM_NODES)
                moves = [m for m in _moves(current) if m[0] == c and m[1] == slot]
                _, _, edge = moves[int(rng.integers(len(moves)))]
                current = _replace_edge(current, c, slot, edge)
            distance = self.edit_distance(arch, current)
            if distance == num_edits:
                return current
            if distance > self.edit_distance(arch, best):
                best = current
        return best

    def edit_distance(self, a: Genotype, b: Genotype) -> int:
        """Fewest single edits (change one edge's op, or move one edge to another input)
        turning `a` into `b`, every step a valid genotype.

        Nodes keep their identity (their index fixes their possible inputs), so the total
        is a sum over the 8 intermediate nodes; within a node the two edges are matched
        whichever way is cheaper, each edge costing its differing op and input. That
        matching is reachable through valid genotypes: the only blocked order, two edges
        swapping inputs, is never cheaper than the crossed matching.
        """
        a, b = self._check(a), self._check(b)
        total = 0
        for cell_a, cell_b in zip(a.cells, b.cells, strict=True):
            for node in range(NUM_NODES):
                pair = slice(2 * node, 2 * node + 2)
                total += _node_distance(cell_a[pair], cell_b[pair])
        return total

    # --- tensors --------------------------------------------------------------
    def batch(self, archs: Sequence[Genotype]) -> ArchBatch:
        """22-vertex node form per genotype (see `genotype_graph`)."""
        adj = np.zeros((len(archs), NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
        ops = np.zeros((len(archs), NUM_VERTICES), dtype=np.int64)
        for i, arch in enumerate(archs):
            adj[i], ops[i] = genotype_graph(self._check(arch))
        return ArchBatch.from_numpy(adj, ops, NODE_OPS)

    def published_valid(self, adj: np.ndarray, ops: np.ndarray) -> bool:
        """The looser rule the published arch2vec code counts DARTS validity by, applied to
        each cell's 11 vertices: the two inputs and the output in place, a `PRIMITIVES` op
        (`none` included) on every op vertex, and every op vertex fed by at least one earlier
        vertex. Which inputs feed it, how many, and the cell-joining edges are not checked,
        so many graphs it accepts spell no genotype; `decode` is the space's own rule."""
        adj = np.triu(np.asarray(adj) > 0.5, 1)
        ops = np.asarray(ops).astype(np.int64).reshape(-1)
        if adj.shape != (len(ops), len(ops)) or len(ops) < NUM_VERTICES:
            return False
        first_op = NUM_CELL_INPUTS
        legal = {_NODE_OP_INDEX[name] for name in PRIMITIVES}
        for c in range(2):
            start = c * CELL_VERTICES
            labels = ops[start : start + CELL_VERTICES]
            block = adj[start : start + CELL_VERTICES, start : start + CELL_VERTICES]
            if list(labels[:first_op]) != list(range(first_op)) or labels[-1] != _OUTPUT_OP:
                return False
            if any(int(label) not in legal for label in labels[first_op:-1]):
                return False
            if not block[:, first_op:-1].any(axis=0).all():
                return False
        return True

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> Genotype | None:
        """The genotype of a 22-vertex node-form graph, or None unless every vertex has the
        label and edges its role demands (entries > 0.5 count as edges): each op vertex a
        DARTS op fed by exactly one legal input, the two edges of a node on distinct
        inputs, and the fixed input, output and cell-joining edges. Either order of a
        node's two op vertices is accepted; trailing padding is allowed."""
        adj = np.asarray(adj) > 0.5
        ops = np.asarray(ops).astype(np.int64).reshape(-1)
        v = NUM_VERTICES
        if adj.ndim != 2 or adj.shape != (len(ops), len(ops)) or len(ops) < v:
            return None
        if np.any(ops[v:] != PAD) or adj[v:, :].any() or adj[:, v:].any():
            return None
        adj, ops = adj[:v, :v], ops[:v]
        cells: list[Cell] = []
        for c in range(2):
            start = c * CELL_VERTICES
            block = adj[start : start + CELL_VERTICES, start : start + CELL_VERTICES]
            labels = ops[start : start + CELL_VERTICES]
            cell: list[Edge] = []
            for i in range(2 * NUM_NODES):
                vertex = NUM_CELL_INPUTS + i
                label = int(labels[vertex])
                if not 0 <= label < len(NODE_OPS) or NODE_OPS[label] not in DARTS_OPS:
                    return None
                fed_by = tuple(int(x) for x in np.flatnonzero(block[:, vertex]))
                sources = [
                    s for s in range(i // 2 + NUM_CELL_INPUTS) if _source_vertices(s) == fed_by
                ]
                if len(sources) != 1:
                    return None
                cell.append((NODE_OPS[label], sources[0]))
            expected_adj, expected_ops = _cell_graph(cell)
            if not (
                np.array_equal(block, expected_adj > 0) and np.array_equal(labels, expected_ops)
            ):
                return None
            cells.append(tuple(cell))
        joins = np.zeros_like(adj)
        joins[_OUTPUT, CELL_VERTICES : CELL_VERTICES + NUM_CELL_INPUTS] = True
        off_diagonal = adj.copy()
        off_diagonal[:CELL_VERTICES, :CELL_VERTICES] = False
        off_diagonal[CELL_VERTICES:, CELL_VERTICES:] = False
        if not np.array_equal(off_diagonal, joins):
            return None
        try:
            return Genotype(normal=cells[0], reduce=cells[1])
        except InvalidArchitecture:
            return None

    @staticmethod
    def _check(arch: object) -> Genotype:
        if not isinstance(arch, Genotype):
            raise InvalidArchitecture(f"not a DARTS genotype: {arch!r}")
        return arch


__all__ = [
    "CONCAT",
    "DARTS_OPS",
    "DARTS_V2",
    "NODE_OPS",
    "NUM_NODES",
    "PRIMITIVES",
    "DartsSpace",
    "Genotype",
    "format_genotype",
    "genotype_graph",
    "parse_genotype",
]
