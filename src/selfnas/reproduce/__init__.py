"""`selfnas reproduce`: one command per published table, our numbers beside the paper's.

Each reproduction module exposes `REPRODUCTIONS`, a tuple of `Reproduction`s; adding a
table is one module and one line in `MODULES`. Modules are imported lazily, so `--list`
and the CLI stay fast and a reproduction whose parts are missing fails alone, with its
reason.
"""

from __future__ import annotations

from selfnas.registry import Registry
from selfnas.reproduce.base import Context, Published, Report, Reproduction, Row

#: reproduction name -> the `REPRODUCTIONS` of the module that defines it
MODULES: Registry[tuple[Reproduction, ...]] = Registry(
    "reproduction",
    {
        "locality-table1": (
            "selfnas.reproduce.locality_table1:REPRODUCTIONS",
            "locality pretraining, NAO search (Table 1)",
        ),
        "arch2vec-pretraining": (
            "selfnas.reproduce.arch2vec_pretraining:REPRODUCTIONS",
            "arch2vec pretraining metrics",
        ),
        "arch2vec-nb201": (
            "selfnas.reproduce.arch2vec_nb201:REPRODUCTIONS",
            "arch2vec search on NAS-Bench-201",
        ),
        "arch2vec-nb301": (
            "selfnas.reproduce.arch2vec_nb301:REPRODUCTIONS",
            "arch2vec search in the DARTS space on the NB301 surrogate",
        ),
        "gates-encoders": ("selfnas.reproduce.gates_tables:REPRODUCTIONS", "GATES encoder table"),
        "gates-losses": ("selfnas.reproduce.gates_tables:REPRODUCTIONS", "GATES loss table"),
        "gates-nak": ("selfnas.reproduce.gates_tables:REPRODUCTIONS", "GATES N@K tables"),
        "sswp-ablation": (
            "selfnas.reproduce.sswp_ablation:REPRODUCTIONS",
            "SSWP-NAS ablations (Table 3)",
        ),
        "sswp-label-fraction": (
            "selfnas.reproduce.sswp_sweeps:REPRODUCTIONS",
            "SSWP-NAS concomitant vs random init over the labelled fraction (Fig. 5)",
        ),
        "sswp-fpp-span": (
            "selfnas.reproduce.sswp_sweeps:REPRODUCTIONS",
            "SSWP-NAS FPP time span (Table 3b)",
        ),
    },
)


def names() -> list[str]:
    return MODULES.names()


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called `name`."""
    for item in MODULES.get(name):
        if item.name == name:
            return item
    raise AssertionError(f"{MODULES[name].module} does not define {name}")  # a registry bug


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
