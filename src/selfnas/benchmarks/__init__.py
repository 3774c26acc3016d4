"""Benchmarks as oracles over real tables and surrogates (NB101, NB201, NB301, NB-Graph).

`get_benchmark(name, **options)` builds one:

- `nb101`: `path=` a `.tfrecord` (official), NASLib `.pkl` or `.json` extract; default: the
  first found under the data directory (`nb101/nasbench_only108.tfrecord`, then `.pkl`).
- `nb201`: `tables=[paths]` (CSV/Parquet with an `arch` column, joined on `arch`), or
  `path=` an official `.pth` / NATS `-simple` folder; default: the official file if the data
  directory has one, else the reference CSVs found there.
- `nb301`: `model=`, `encoding=` (YAHPO ONNX surrogate files; default from the data
  directory), or `official_dir=` the NB301 v1.0 model folder (needs `nasbench301`).
- `nbgraph`: `dataset=` the default dataset (data ship with the `nas-bench-graph` package).
- `train`: no table: each query trains the arch's network (`selfnas.trials.factory`:
  `space=`, `dataset=`, `epochs=`, `recipe=`, `backend=`, `trials=` ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selfnas.benchmarks.base import Benchmark, Ledger, Record, TableBenchmark
from selfnas.errors import InvalidOption
from selfnas.registry import Registry

#: benchmark name -> factory(**options) -> Benchmark; imported lazily
BENCHMARKS: Registry[Callable[..., Benchmark]] = Registry(
    "benchmark",
    {
        "nb101": ("selfnas.benchmarks.nb101:NB101Benchmark", "NAS-Bench-101 table"),
        "nb201": ("selfnas.benchmarks:nb201_benchmark", "NAS-Bench-201 tables"),
        "nb301": ("selfnas.benchmarks:nb301_benchmark", "NAS-Bench-301 surrogate"),
        "nbgraph": ("selfnas.benchmarks.nbgraph:NBGraphBenchmark", "NAS-Bench-Graph table"),
        "train": ("selfnas.trials.factory:training_benchmark", "train each queried arch"),
    },
    ignore_case=True,
)


def nb201_benchmark(tables: Any = None, path: Any = None) -> Benchmark:
    """NB201 from `tables`, an official file `path`, or whatever the data directory holds."""
    from selfnas.benchmarks import sources
    from selfnas.benchmarks.nb201 import NB201Tables
    from selfnas.benchmarks.nb201_official import NB201Official

    if tables and path:
        raise InvalidOption("nb201: give tables or an official file, not both")
    if tables:
        return NB201Tables(tables)
    if path:
        return NB201Official(path)
    official = ("nb201-v1_1", "nb201-v1_0", "nats-tss-simple")
    for name in official:
        candidate = sources.file(name).path()
        if candidate.exists():
            return NB201Official(candidate)
    found = [sources.file(n).path() for n in ("nb201-200ep-cifar10", "nb201-12ep")]
    found = [p for p in found if p.exists()]
    if found:
        return NB201Tables(found)
    sources.require_source("nb201")  # raises DataNotFound naming every option
    raise AssertionError("unreachable")


def nb301_benchmark(**options: Any) -> Benchmark:
    """NB301's official models with `official_dir=`, else the YAHPO ONNX surrogate."""
    from selfnas.benchmarks.nb301 import NB301Official, NB301Surrogate

    if "official_dir" in options:
        return NB301Official(options.pop("official_dir"), **options)
    return NB301Surrogate(**options)


def get_benchmark(name: str, **options: Any) -> Benchmark:
    """The oracle called `name` (see the module doc for each one's options)."""
    factory = BENCHMARKS.get(name)
    options = {k: v for k, v in options.items() if v is not None}
    try:
        return factory(**options)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise InvalidOption(f"{name.lower()}: unsupported option ({exc})") from None


__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "Ledger",
    "Record",
    "TableBenchmark",
    "get_benchmark",
    "nb201_benchmark",
    "nb301_benchmark",
]
