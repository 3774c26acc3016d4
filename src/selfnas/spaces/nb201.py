"""NAS-Bench-201 / NATS-Bench topology space: a fixed 4-node cell with one op per edge.

Nodes 0 (input) .. 3 (output) form the complete DAG; each of its six edges carries one of
five ops, so there are 5**6 = 15,625 cells. The benchmark lists cells separately even when
they compute the same function, so `NB201Cell` equality is exact op equality and
`unique_key` gives the authors' class of equivalent cells (6,466 classes).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces.base import SearchSpace, check_choices
from selfnas.spaces.batch import PAD, ArchBatch, EdgeBatch

#: candidate ops in NAS-Bench-201's own order (the edge-form op index)
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)
#: (source, target) of each edge, in the order of the standard string
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_CELL_NODES = 4

#: node-form vocabulary, arch2vec's NB201 labels in its index order
NODE_OPS: tuple[str, ...] = (
    "input",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "none",
    "output",
)
NUM_NODE_FORM_VERTICES = NUM_EDGES + 2


def _node_form_adjacency() -> np.ndarray:
    """arch2vec's 8-vertex layout: vertex 0 input, vertex 1 + e the op of edge e, 7 output.

    The op of edge (i, j) feeds every op on an edge leaving cell node j; edges from the
    input node are fed by vertex 0; edges into cell node 3 feed the output vertex.
    """
    adj = np.zeros((NUM_NODE_FORM_VERTICES, NUM_NODE_FORM_VERTICES), dtype=np.int64)
    output = NUM_NODE_FORM_VERTICES - 1
    for e, (src, dst) in enumerate(EDGES):
        if src == 0:
            adj[0, 1 + e] = 1
        for f, (src2, _) in enumerate(EDGES):
            if src2 == dst:
                adj[1 + e, 1 + f] = 1
        if dst == NUM_CELL_NODES - 1:
            adj[1 + e, output] = 1
    return adj


NODE_FORM_ADJACENCY = _node_form_adjacency()
_OP_TO_INDEX = {op: i for i, op in enumerate(NB201_OPS)}
_EDGE_TO_NODE_OP = np.array([NODE_OPS.index(op) for op in NB201_OPS], dtype=np.int64)
_NODE_OP_TO_EDGE = {NODE_OPS.index(op): i for i, op in enumerate(NB201_OPS)}


@dataclass(frozen=True)
class NB201Cell:
    """Six edge ops in the standard string's order (edges 0-1, 0-2, 1-2, 0-3, 1-3, 2-3)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        if len(ops) != NUM_EDGES:
            raise InvalidArchitecture(f"an NB201 cell has {NUM_EDGES} edge ops, got {len(ops)}")
        for e, op in enumerate(ops):
            if op not in _OP_TO_INDEX:
                src, dst = EDGES[e]
                raise InvalidArchitecture(
                    f"unknown op {op!r} on edge {src}->{dst}; "
                    f"expected one of {', '.join(NB201_OPS)}"
                )
        object.__setattr__(self, "ops", ops)

    @classmethod
    def from_indices(cls, indices: Sequence[int]) -> NB201Cell:
        """Cell from six op indices into `NB201_OPS`."""
        return cls(tuple(NB201_OPS[int(i)] for i in indices))

    @property
    def op_indices(self) -> tuple[int, ...]:
        return tuple(_OP_TO_INDEX[op] for op in self.ops)

    @property
    def string(self) -> str:
        """The standard `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` string."""
        nodes = []
        for dst in range(1, NUM_CELL_NODES):
            tokens = [f"{self.ops[e]}~{src}" for e, (src, d) in enumerate(EDGES) if d == dst]
            nodes.append("|" + "|".join(tokens) + "|")
        return "+".join(nodes)

    def __str__(self) -> str:
        return self.string


def parse_cell(text: str) -> NB201Cell:
    """Parse the standard string; every problem is named in the `InvalidArchitecture`."""
    text = text.strip()
    parts = text.split("+")
    if len(parts) != NUM_CELL_NODES - 1:
        raise InvalidArchitecture(
            f"an NB201 string has {NUM_CELL_NODES - 1} '+'-separated node groups, "
            f"got {len(parts)}: {text!r}"
        )
    ops: list[str] = []
    for dst, part in enumerate(parts, start=1):
        if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
            raise InvalidArchitecture(f"node group {dst} must be wrapped in '|': {part!r}")
        tokens = part[1:-1].split("|")
        if len(tokens) != dst:
            raise InvalidArchitecture(
                f"node {dst} takes {dst} input edge(s), got {len(tokens)} in {part!r}"
            )
        for src, token in enumerate(tokens):
            op, sep, source = token.partition("~")
            if not sep:
                raise InvalidArchitecture(f"edge token {token!r} lacks '~source'")
            if source != str(src):
                raise InvalidArchitecture(
                    f"edge token {token!r} of node {dst} must come from node {src}"
                )
            ops.append(op)
    return NB201Cell(tuple(ops))


def unique_key(cell: NB201Cell) -> str:
    """NATS-Bench's unique string: cells with the same key compute the same function.

    Evaluated symbolically node by node: `none` (or a zero source `#`) contributes `#`,
    `skip_connect` passes its source's string through, any other op wraps it as
    `(source)@op`; a node joins its sorted contributions with `+`.
    """
    strings = {0: "0"}
    for dst in range(1, NUM_CELL_NODES):
        parts = []
        for e, (src, d) in enumerate(EDGES):
            if d != dst:
                continue
            op, source = cell.ops[e], strings[src]
            if op == "none" or source == "#":
                parts.append("#")
            elif op == "skip_connect":
                parts.append(source)
            else:
                parts.append(f"({source})@{op}")
        strings[dst] = "+".join(sorted(parts))
    return strings[NUM_CELL_NODES - 1]


class NB201Space(SearchSpace[NB201Cell]):
    """The 15,625 NAS-Bench-201 cells; enumeration order is base-5 over `NB201_OPS`
    indices with edge 0->1 the most significant digit (`index_of` / `from_index`)."""

    name = "nb201"
    node_ops = NODE_OPS
    op_on_edge = True
    has_edge_batch = True
    num_vertices = NUM_NODE_FORM_VERTICES

    @property
    def size(self) -> int:
        return len(NB201_OPS) ** NUM_EDGES

    @property
    def unique(self) -> int:
        return len(self.unique_classes)

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        return NB201_OPS

    # --- text -----------------------------------------------------------------
    def parse(self, text: str) -> NB201Cell:
        return parse_cell(text)

    def format(self, arch: NB201Cell) -> str:
        return self._check(arch).string

    def hash(self, arch: NB201Cell) -> str:
        return self._check(arch).string

    def unique_key(self, arch: NB201Cell) -> str:
        return unique_key(self._check(arch))

    # --- categorical decisions ------------------------------------------------
    @property
    def choices(self) -> tuple[int, ...]:
        """One op per edge: six decisions of five options (`NB201_OPS` order)."""
        return (len(NB201_OPS),) * NUM_EDGES

    def from_choices(self, indices: Sequence[int]) -> NB201Cell:
        return NB201Cell.from_indices(check_choices(indices, self.choices))

    def to_choices(self, arch: NB201Cell) -> tuple[int, ...]:
        return self._check(arch).op_indices

    # --- population -----------------------------------------------------------
    @cached_property
    def _all(self) -> tuple[NB201Cell, ...]:
        return tuple(
            NB201Cell.from_indices(idx)
            for idx in itertools.product(range(len(NB201_OPS)), repeat=NUM_EDGES)
        )

    @cached_property
    def unique_classes(self) -> dict[str, list[NB201Cell]]:
        """unique key -> the cells of that class (in enumeration order)."""
        classes: dict[str, list[NB201Cell]] = {}
        for cell in self._all:
            classes.setdefault(unique_key(cell), []).append(cell)
        return classes

    def enumerate(self) -> list[NB201Cell]:
        return list(self._all)

    def index_of(self, arch: NB201Cell) -> int:
        """Position of `arch` in `enumerate()`."""
        index = 0
        for i in self._check(arch).op_indices:
            index = index * len(NB201_OPS) + i
        return index

    def from_index(self, index: int) -> NB201Cell:
        if not 0 <= index < self.size:
            raise InvalidOption(f"NB201 index {index} out of range 0..{self.size - 1}")
        return self._all[index]

    def sample(self, n: int, rng: np.random.Generator) -> list[NB201Cell]:
        indices = rng.integers(0, self.size, size=int(n))
        return [self._all[int(i)] for i in indices]

    def mutate(self, arch: NB201Cell, rng: np.random.Generator) -> NB201Cell:
        return self.random_edit(arch, 1, rng)

    def neighbours(self, arch: NB201Cell) -> list[NB201Cell]:
        """The 24 cells that differ from `arch` on exactly one edge."""
        ops = self._check(arch).ops
        return [
            NB201Cell((*ops[:e], op, *ops[e + 1 :]))
            for e in range(NUM_EDGES)
            for op in NB201_OPS
            if op != ops[e]
        ]

    def random_edit(self, arch: NB201Cell, num_edits: int, rng: np.random.Generator) -> NB201Cell:
        """Change `num_edits` distinct edges, each to a different op (distance exactly k)."""
        if not 0 <= num_edits <= NUM_EDGES:
            raise InvalidOption(f"NB201 allows 0..{NUM_EDGES} edits, got {num_edits}")
        ops = list(self._check(arch).ops)
        for e in rng.choice(NUM_EDGES, size=num_edits, replace=False):
            choices = [op for op in NB201_OPS if op != ops[e]]
            ops[e] = choices[int(rng.integers(len(choices)))]
        return NB201Cell(tuple(ops))

    def edit_distance(self, a: NB201Cell, b: NB201Cell) -> int:
        """Number of edges whose ops differ, which is the exact graph edit distance here.

        The topology is fixed (a complete 4-node DAG has one topological order, so every
        node is identified by its position, and `none` is an op, not a missing edge); the
        only edit that stays in the space is changing one edge's op, and edges change
        independently, so the fewest edits is the count of differing edges.
        """
        a, b = self._check(a), self._check(b)
        return sum(x != y for x, y in zip(a.ops, b.ops, strict=True))

    # --- tensors --------------------------------------------------------------
    def _indices(self, archs: Sequence[NB201Cell]) -> np.ndarray:
        if len(archs) == 0:
            return np.zeros((0, NUM_EDGES), dtype=np.int64)
        return np.array([self._check(a).op_indices for a in archs], dtype=np.int64)

    def batch(self, archs: Sequence[NB201Cell]) -> ArchBatch:
        """arch2vec's node form: 8 vertices (input, the six edge ops, output)."""
        edge_ops = self._indices(archs)
        n = len(edge_ops)
        ops = np.empty((n, NUM_NODE_FORM_VERTICES), dtype=np.int64)
        ops[:, 0] = NODE_OPS.index("input")
        ops[:, 1:-1] = _EDGE_TO_NODE_OP[edge_ops]
        ops[:, -1] = NODE_OPS.index("output")
        adj = np.broadcast_to(NODE_FORM_ADJACENCY, (n, *NODE_FORM_ADJACENCY.shape))
        return ArchBatch.from_numpy(adj, ops, NODE_OPS)

    def edge_batch(self, archs: Sequence[NB201Cell]) -> EdgeBatch:
        """Native form over the 4 cell nodes: `edge_ops[n, i, j]` indexes `NB201_OPS`."""
        edge_ops = self._indices(archs)
        out = np.full((len(edge_ops), NUM_CELL_NODES, NUM_CELL_NODES), PAD, dtype=np.int64)
        for e, (src, dst) in enumerate(EDGES):
            out[:, src, dst] = edge_ops[:, e]
        return EdgeBatch.from_numpy(out, NB201_OPS)

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> NB201Cell | None:
        """The cell of a node-form graph, or None unless it has exactly the fixed 8-vertex
        adjacency (entries > 0.5 count as edges), `input` first, `output` last and one of
        the five cell ops at each of the six op vertices. Trailing padding (PAD ops, zero
        adjacency) is allowed."""
        adj = np.asarray(adj)
        ops = np.asarray(ops).astype(np.int64).reshape(-1)
        v = NUM_NODE_FORM_VERTICES
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != len(ops):
            return None
        if len(ops) < v or np.any(ops[v:] != PAD) or np.any(adj[v:, :] > 0.5):
            return None
        if np.any(adj[:, v:] > 0.5):
            return None
        if not np.array_equal(adj[:v, :v] > 0.5, NODE_FORM_ADJACENCY.astype(bool)):
            return None
        if ops[0] != NODE_OPS.index("input") or ops[v - 1] != NODE_OPS.index("output"):
            return None
        edge_ops = []
        for label in ops[1 : v - 1]:
            if int(label) not in _NODE_OP_TO_EDGE:
                return None
            edge_ops.append(_NODE_OP_TO_EDGE[int(label)])
        return NB201Cell.from_indices(edge_ops)

    @staticmethod
    def _check(arch: object) -> NB201Cell:
        if not isinstance(arch, NB201Cell):
            raise InvalidArchitecture(f"not an NB201 cell: {arch!r}")
        return arch
