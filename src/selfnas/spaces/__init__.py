"""Search spaces: NAS-Bench-101, NAS-Bench-201, DARTS (NAS-Bench-301), NAS-Bench-Graph."""

from __future__ import annotations

from importlib import import_module

from selfnas.errors import InvalidOption
from selfnas.spaces.base import Arch, SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch, EdgeBatch

#: space name -> (module, class); imported lazily so one space's cost is not everyone's
SPACES: dict[str, tuple[str, str]] = {
    "nb101": ("selfnas.spaces.nb101", "NB101Space"),
    "nb201": ("selfnas.spaces.nb201", "NB201Space"),
    "darts": ("selfnas.spaces.darts", "DartsSpace"),
    "nbgraph": ("selfnas.spaces.nbgraph", "NBGraphSpace"),
}

_instances: dict[str, SearchSpace] = {}


def get_space(name: str) -> SearchSpace:
    """The space called `name` (one shared instance per process)."""
    key = name.lower()
    if key not in SPACES:
        raise InvalidOption(f"unknown search space {name!r}; choose one of {', '.join(SPACES)}")
    if key not in _instances:
        module, cls = SPACES[key]
        _instances[key] = getattr(import_module(module), cls)()
    return _instances[key]


__all__ = ["PAD", "SPACES", "Arch", "ArchBatch", "EdgeBatch", "SearchSpace", "get_space"]
