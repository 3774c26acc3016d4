"""NAS-Bench-Graph: the benchmark that works with nothing but `pip install`.

The `nas-bench-graph` package ships one "light" table per dataset
(`nas_bench_graph.light_read(name)`: arch id -> {'valid_perf', 'perf', 'latency', 'para'}),
26,206 archs on eight datasets and 2,021 on `proteins` (which allows only five of the nine
ops: gcn, sage, arma, fc, skip). The arch id is the package's `Arch.valid_hash()` (a
canonical form of (link, ops) in base-10 digits over the full op list), so isomorphic archs
share one id and one entry.

Metrics (accuracies in %, as the rest of selfnas reports them):
`val_accuracy` = 100 * valid_perf, `test_accuracy` = 100 * perf, `latency` (seconds per
inference, as measured by the benchmark), `params` (the package's `para`, millions).
The package records no training time, so records carry no simulated seconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np

from selfnas.benchmarks.base import LazySpace, TableBenchmark
from selfnas.benchmarks.table import MetricTable
from selfnas.errors import DataCorrupt, DataNotFound, InvalidArchitecture, InvalidOption

DATASETS: tuple[str, ...] = (
    "cora",
    "citeseer",
    "pubmed",
    "cs",
    "physics",
    "photo",
    "computers",
    "arxiv",
    "proteins",
)
METRICS: tuple[str, ...] = ("val_accuracy", "test_accuracy", "latency", "params")
_SOURCE = (("valid_perf", 100.0), ("perf", 100.0), ("latency", 1.0), ("para", 1.0))


def _read_light(dataset: str) -> Mapping[int, Mapping[str, float]]:
    try:
        import nas_bench_graph
    except ImportError:
        raise DataNotFound(
            "nbgraph: the `nas-bench-graph` package is not installed; "
            "run `pip install nas-bench-graph`"
        ) from None
    try:
        bench = nas_bench_graph.light_read(dataset)
    except FileNotFoundError:
        raise DataNotFound(
            f"nbgraph: the package's table for {dataset!r} is missing; reinstall "
            "nas-bench-graph (`pip install --force-reinstall nas-bench-graph`)"
        ) from None
    except Exception as exc:
        raise DataCorrupt(
            f"nbgraph: the package's table for {dataset!r} cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(bench, Mapping) or not bench:
        raise DataCorrupt(f"nbgraph: the package's table for {dataset!r} is not a dict of archs")
    return bench


def build_table(dataset: str) -> MetricTable:
    """Columnar form of one light table (a 2 MB pickle: built in well under a second)."""
    bench = _read_light(dataset)
    ids = np.fromiter(bench.keys(), dtype=np.int64, count=len(bench))
    columns: dict[str, np.ndarray] = {}
    try:
        for name, (field, scale) in zip(METRICS, _SOURCE, strict=True):
            columns[name] = (
                np.fromiter(
                    (float(entry[field]) for entry in bench.values()), np.float64, len(bench)
                )
                * scale
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataCorrupt(f"nbgraph: entry without a numeric {exc} in {dataset!r}") from None
    return MetricTable(np.array([str(i) for i in ids], dtype=object), columns)


def arch_id(arch: Hashable) -> str:
    """The benchmark id of an arch: its own `id`, an int id, or (link, ops) via the package."""
    if isinstance(arch, bool):
        raise InvalidArchitecture(f"not an NB-Graph arch: {arch!r}")
    if isinstance(arch, (int, np.integer)):
        return str(int(arch))
    if isinstance(arch, str) and arch.strip().isdigit():
        return str(int(arch))
    for attribute in ("id", "arch_id"):
        value = getattr(arch, attribute, None)
        if isinstance(value, (int, np.integer, str)) and not callable(value):
            return str(int(value))
    link = getattr(arch, "link", None)
    ops = getattr(arch, "ops", None)
    if link is None or ops is None:
        raise InvalidArchitecture(f"not an NB-Graph arch: {arch!r}")
    from nas_bench_graph import Arch

    try:
        return str(Arch(list(link), list(ops)).valid_hash())
    except (KeyError, IndexError, TypeError, UnboundLocalError) as exc:
        raise InvalidArchitecture(
            f"not a valid NB-Graph arch (link={link}, ops={ops}): {exc}"
        ) from None


class NBGraphBenchmark(TableBenchmark):
    """NAS-Bench-Graph oracle over the package's light tables (all nine datasets)."""

    name = "nbgraph"
    space = LazySpace("nbgraph")

    def __init__(self, dataset: str | None = None) -> None:
        self._tables: dict[str, MetricTable] = {}
        self._default = DATASETS[0]
        if dataset is not None:
            self._default = self.default_dataset(dataset)

    @property
    def datasets(self) -> tuple[str, ...]:
        return (self._default, *(d for d in DATASETS if d != self._default))

    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        return METRICS

    def table(self, dataset: str | None = None, fidelity: int | None = None) -> MetricTable:
        if fidelity is not None:
            raise InvalidOption("nbgraph has one fidelity; leave fidelity unset")
        dataset = self.default_dataset(dataset)
        if dataset not in self._tables:
            self._tables[dataset] = build_table(dataset)
        return self._tables[dataset]

    def key(self, arch: Hashable) -> str:
        if isinstance(arch, str) and not arch.strip().isdigit():
            arch = self.space.parse(arch)
        return arch_id(arch)
