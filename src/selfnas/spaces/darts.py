"""The DARTS / NAS-Bench-301 search space (ops on edges, normal + reduction cell).

The genotype type and its text live in `darts_genotype` (re-exported here).
"""

from __future__ import annotations

from selfnas.spaces.darts_genotype import (
    CONCAT,
    DARTS_OPS,
    DARTS_V2,
    NUM_NODES,
    PRIMITIVES,
    Genotype,
    format_genotype,
    parse_genotype,
)

__all__ = [
    "CONCAT",
    "DARTS_OPS",
    "DARTS_V2",
    "NUM_NODES",
    "PRIMITIVES",
    "Genotype",
    "format_genotype",
    "parse_genotype",
]
