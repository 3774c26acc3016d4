"""Per-cell genotypes and their derivation from architecture weights.

SSWP-NAS does not share an architecture between cells, so the result of a search is a list
of cell genotypes, each normal- or reduce-type. A cell genotype is DARTS' cell description:
for each of the 4 intermediate nodes, two (op, input) pairs, where input 0 and 1 are the
cell's inputs c_{k-2}, c_{k-1} and input j >= 2 is intermediate node j - 2.

Derivation follows DARTS (each edge keeps its strongest op, each node its two strongest
edges) with P-DARTS' optional caps on skip connections and pools: while a cap is exceeded,
the weakest chosen offender is masked out and the cell derived again.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfnas.errors import InvalidArchitecture
from selfnas.oneshot.ops import OPS, POOL_OPS, SKIP
from selfnas.spaces.darts_genotype import Genotype, canonical_cell

NODES = 4
NODE_STARTS: tuple[int, ...] = (0, 2, 5, 9)
NUM_EDGES = 14


def edge_index(node: int, source: int) -> int:
    """Index (0..13) of the edge from `source` (0..node+1) into intermediate node `node`."""
    if not 0 <= node < NODES or not 0 <= source <= node + 1:
        raise InvalidArchitecture(f"no edge from input {source} into node {node}")
    return NODE_STARTS[node] + source


def edge_source(edge: int) -> tuple[int, int]:
    """(node, source) of edge `edge`."""
    for node in reversed(range(NODES)):
        if edge >= NODE_STARTS[node]:
            return node, edge - NODE_STARTS[node]
    raise InvalidArchitecture(f"edge index {edge} out of range")


@dataclass(frozen=True)
class CellGenotype:
    """One cell: 8 (op, input) pairs, two per node in node order, and its cell type."""

    ops: tuple[tuple[str, int], ...]
    reduction: bool
    concat: tuple[int, ...] = (2, 3, 4, 5)

    def __post_init__(self) -> None:
        if len(self.ops) != 2 * NODES:
            raise InvalidArchitecture(f"a cell needs {2 * NODES} (op, input) pairs")
        for position, (name, source) in enumerate(self.ops):
            if name not in OPS:
                raise InvalidArchitecture(f"unknown op {name!r} in cell genotype")
            edge_index(position // 2, source)
        for node in range(NODES):
            if self.ops[2 * node][1] == self.ops[2 * node + 1][1]:
                raise InvalidArchitecture(f"node {node} takes the same input twice")

    @property
    def kind(self) -> str:
        return "reduce" if self.reduction else "normal"

    def edges(self) -> list[tuple[int, str]]:
        """(edge index, op) for the 8 kept edges, in node order."""
        return [
            (edge_index(position // 2, source), name)
            for position, (name, source) in enumerate(self.ops)
        ]

    def count(self, names: Sequence[str]) -> int:
        return sum(name in names for name, _ in self.ops)

    def to_darts_cell(self) -> tuple[tuple[str, int], ...]:
        """This cell's (op, input) pairs in the DARTS space's canonical order."""
        return canonical_cell(self.ops)

    def to_text(self) -> str:
        """`normal: [('sep_conv_3x3', 0), ...] concat=[2, 3, 4, 5]` (DARTS' pair notation)."""
        pairs = ", ".join(f"({name!r}, {source})" for name, source in self.ops)
        return f"{self.kind}: [{pairs}] concat={list(self.concat)}"


_LINE = re.compile(r"^\s*(normal|reduce)\s*:\s*(\[.*\])\s*concat\s*=\s*(\[[\d,\s]*\])\s*$")


def parse_cell(text: str) -> CellGenotype:
    match = _LINE.match(text)
    if not match:
        raise InvalidArchitecture(f"not a cell genotype line: {text!r}")
    try:
        pairs = ast.literal_eval(match.group(2))
        concat = ast.literal_eval(match.group(3))
    except (ValueError, SyntaxError) as exc:
        raise InvalidArchitecture(f"cannot parse cell genotype {text!r}: {exc}") from None
    return CellGenotype(
        ops=tuple((str(name), int(source)) for name, source in pairs),
        reduction=match.group(1) == "reduce",
        concat=tuple(int(value) for value in concat),
    )


def genotypes_to_text(cells: Sequence[CellGenotype]) -> str:
    """One line per cell, first to last."""
    return "\n".join(cell.to_text() for cell in cells)


def genotypes_from_text(text: str) -> list[CellGenotype]:
    return [parse_cell(line) for line in text.splitlines() if line.strip()]


def darts_summary(cells: Sequence[CellGenotype]) -> Genotype:
    """One DARTS `Genotype` (normal + reduce) summarising per-cell genotypes.

    A DARTS genotype holds exactly one normal and one reduce cell, so it cannot carry a
    per-cell search result; this picks the most frequent cell of each type (ties: the
    earliest), e.g. to query NAS-Bench-301 or compare with DARTS. The per-cell list
    (`genotypes_to_text`) stays the search's real result.
    """
    picks = {}
    for reduction in (False, True):
        kind = [cell.to_darts_cell() for cell in cells if cell.reduction == reduction]
        if not kind:
            label = "reduce" if reduction else "normal"
            raise InvalidArchitecture(f"no {label} cell to summarise (a network needs both)")
        counts = Counter(kind)
        picks[reduction] = max(kind, key=lambda cell: (counts[cell], -kind.index(cell)))
    return Genotype(normal=picks[False], reduce=picks[True])


def _softmax(alpha: np.ndarray) -> np.ndarray:
    shifted = alpha - alpha.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def _derive_once(weights: np.ndarray, reduction: bool) -> tuple[CellGenotype, list[int]]:
    pairs: list[tuple[str, int]] = []
    chosen: list[int] = []
    for node in range(NODES):
        sources = list(range(node + 2))
        strength = [weights[edge_index(node, s)].max() for s in sources]
        # Strongest first; a stable sort breaks ties towards the earlier input.
        order = sorted(sources, key=lambda s: -strength[s])[:2]
        for source in order:
            edge = edge_index(node, source)
            pairs.append((OPS[int(np.argmax(weights[edge]))], source))
            chosen.append(edge)
    return CellGenotype(ops=tuple(pairs), reduction=reduction), chosen


def derive_cell(
    alpha: np.ndarray | Sequence[Sequence[float]],
    reduction: bool,
    max_skip: int | None = None,
    max_pool: int | None = None,
) -> CellGenotype:
    """Derive one cell from its [14, 7] architecture weights (softmax taken per edge)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.shape != (NUM_EDGES, len(OPS)):
        raise InvalidArchitecture(f"alpha must be [{NUM_EDGES}, {len(OPS)}], got {alpha.shape}")
    weights = _softmax(alpha)
    caps = [
        (names, cap)
        for names, cap in (((SKIP,), max_skip), (POOL_OPS, max_pool))
        if cap is not None
    ]
    while True:
        genotype, chosen = _derive_once(weights, reduction)
        for names, cap in caps:
            offenders = [
                (weights[edge, OPS.index(name)], edge, OPS.index(name))
                for edge, (name, _) in zip(chosen, genotype.ops, strict=True)
                if name in names
            ]
            if len(offenders) > cap:
                _, edge, op = min(offenders)
                weights[edge, op] = -1.0  # never the argmax again, nor the edge's strength
                break
        else:
            return genotype
