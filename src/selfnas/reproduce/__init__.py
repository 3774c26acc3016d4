"""`selfnas reproduce`: one command per published table, our numbers beside the paper's.

Each module listed in `MODULES` exposes `REPRODUCTIONS`, a tuple of `Reproduction`s; adding
a table is one module and one line here. Modules are imported lazily, so `--list` and the
CLI stay fast and a reproduction whose parts are missing fails alone, with its reason.
"""

from __future__ import annotations

from importlib import import_module

from selfnas.errors import InvalidOption
from selfnas.reproduce.base import Context, Published, Report, Reproduction, Row

#: reproduction name -> module that defines it
MODULES: dict[str, str] = {
    "locality-table1": "selfnas.reproduce.locality_table1",
    "arch2vec-pretraining": "selfnas.reproduce.arch2vec_pretraining",
    "arch2vec-nb201": "selfnas.reproduce.arch2vec_nb201",
    "gates-encoders": "selfnas.reproduce.gates_tables",
    "gates-losses": "selfnas.reproduce.gates_tables",
    "gates-nak": "selfnas.reproduce.gates_tables",
    "sswp-ablation": "selfnas.reproduce.sswp_ablation",
}


def names() -> list[str]:
    return list(MODULES)


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called `name`."""
    if name not in MODULES:
        raise InvalidOption(f"unknown reproduction {name!r}; choose one of {', '.join(MODULES)}")
    module = import_module(MODULES[name])
    for item in module.REPRODUCTIONS:
        if item.name == name:
            return item
    raise AssertionError(f"{MODULES[name]} does not define {name}")  # a registry bug


__all__ = [
    "MODULES",
    "Context",
    "Published",
    "Report",
    "Reproduction",
    "Row",
    "get_reproduction",
    "names",
]
