"""Search spaces: NAS-Bench-101, NAS-Bench-201, DARTS (NAS-Bench-301), NAS-Bench-Graph."""

from __future__ import annotations

from selfnas.registry import Registry
from selfnas.spaces.base import Arch, SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch, EdgeBatch

#: space name -> its class; imported lazily so one space's cost is not everyone's
SPACES: Registry[type[SearchSpace]] = Registry(
    "search space",
    {
        "nb101": ("selfnas.spaces.nb101:NB101Space", "NAS-Bench-101 cells"),
        "nb201": ("selfnas.spaces.nb201:NB201Space", "NAS-Bench-201 cells"),
        "darts": ("selfnas.spaces.darts:DartsSpace", "DARTS genotypes, NAS-Bench-301"),
        "nbgraph": ("selfnas.spaces.nbgraph:NBGraphSpace", "NAS-Bench-Graph GNNs"),
    },
    ignore_case=True,
)

_instances: dict[str, SearchSpace] = {}


def get_space(name: str) -> SearchSpace:
    """The space called `name` (one shared instance per process)."""
    key = SPACES.key(name)
    if key not in _instances:
        _instances[key] = SPACES.get(key)()
    return _instances[key]


__all__ = ["PAD", "SPACES", "Arch", "ArchBatch", "EdgeBatch", "SearchSpace", "get_space"]
