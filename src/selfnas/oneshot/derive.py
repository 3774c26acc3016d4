"""Per-cell genotypes derived from architecture weights, and their DARTS summary.

SSWP-NAS does not share an architecture between cells, so the result of a search is a list
of cell genotypes (the space's `CellGenotype`), each normal- or reduce-type.

Derivation follows DARTS (each edge keeps its strongest op, each node its two strongest
edges) with P-DARTS' optional caps on skip connections and pools: while a cap is exceeded,
the weakest chosen offender is masked out and the cell derived again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from selfnas.errors import InvalidArchitecture
from selfnas.spaces.darts_genotype import (
    DARTS_OPS,
    NUM_EDGES,
    NUM_NODES,
    POOL_OPS,
    SKIP_CONNECT,
    Cell,
    CellGenotype,
    Genotype,
    edge_index,
)


def darts_summary(cells: Sequence[CellGenotype]) -> Genotype:
    """One DARTS `Genotype` (normal + reduce) summarising per-cell genotypes.

    A DARTS genotype holds exactly one normal and one reduce cell, so it cannot carry a
    per-cell search result; this picks the most frequent cell of each type (ties: the
    earliest), e.g. to query NAS-Bench-301 or compare with DARTS. The per-cell list
    (`cells_to_text`) stays the search's real result.
    """
    picks: dict[bool, Cell] = {}
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
    for node in range(NUM_NODES):
        sources = list(range(node + 2))
        strength = [weights[edge_index(node, s)].max() for s in sources]
        # Strongest first; a stable sort breaks ties towards the earlier input.
        order = sorted(sources, key=lambda s: -strength[s])[:2]
        for source in order:
            edge = edge_index(node, source)
            pairs.append((DARTS_OPS[int(np.argmax(weights[edge]))], source))
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
    if alpha.shape != (NUM_EDGES, len(DARTS_OPS)):
        raise InvalidArchitecture(
            f"alpha must be [{NUM_EDGES}, {len(DARTS_OPS)}], got {alpha.shape}"
        )
    weights = _softmax(alpha)
    caps = [
        (names, cap)
        for names, cap in (((SKIP_CONNECT,), max_skip), (POOL_OPS, max_pool))
        if cap is not None
    ]
    while True:
        genotype, chosen = _derive_once(weights, reduction)
        for names, cap in caps:
            offenders = [
                (weights[edge, DARTS_OPS.index(name)], edge, DARTS_OPS.index(name))
                for edge, (name, _) in zip(chosen, genotype.ops, strict=True)
                if name in names
            ]
            if len(offenders) > cap:
                _, edge, op = min(offenders)
                weights[edge, op] = -1.0  # never the argmax again, nor the edge's strength
                break
        else:
            return genotype
