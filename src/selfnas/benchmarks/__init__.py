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

from typing import Any

from selfnas.benchmarks.base import Benchmark, Ledger, Record, TableBenchmark
from selfnas.errors import InvalidOption

BENCHMARKS = ("nb101", "nb201", "nb301", "nbgraph", "train")


def _nb201(tables: Any = None, path: Any = None) -> Benchmark:
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


def get_benchmark(name: str, **options: Any) -> Benchmark:
    """The oracle called `name` (see the module doc for each one's options)."""
    key = name.lower()
    options = {k: v for k, v in options.items() if v is not None}
    try:
        if key == "nb101":
            from selfnas.benchmarks.nb101 import NB101Benchmark

            return NB101Benchmark(**options)
        if key == "nb201":
            return _nb201(**options)
        if key == "nb301":
            from selfnas.benchmarks.nb301 import NB301Official, NB301Surrogate

            if "official_dir" in options:
                return NB301Official(options.pop("official_dir"), **options)
            return NB301Surrogate(**options)
        if key == "nbgraph":
            from selfnas.benchmarks.nbgraph import NBGraphBenchmark

            return NBGraphBenchmark(**options)
        if key == "train":
            from selfnas.trials.factory import training_benchmark

            return training_benchmark(**options)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise InvalidOption(f"{key}: unsupported option ({exc})") from None
    raise InvalidOption(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")


__all__ = ["BENCHMARKS", "Benchmark", "Ledger", "Record", "TableBenchmark", "get_benchmark"]
