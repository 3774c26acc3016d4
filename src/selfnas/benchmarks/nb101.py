"""NAS-Bench-101 from its official file (no TensorFlow), NASLib's pickle, or JSON extracts.

Sources, detected by suffix and content:

- `nasbench_only108.tfrecord` (official): one TFRecord per training run; each record is the
  UTF-8 JSON list `[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]` where
  `raw_adjacency` is the row-major 0/1 string of the pruned matrix, `raw_operations` the
  comma-joined op labels and `raw_metrics` a base64 `ModelMetrics` protobuf
  (`evaluation_data[2]` = end of training). Three runs per cell at 108 epochs.
- NASLib's pickle (`nasbench_only108.pkl`): `{hash: (fixed, computed)}` with
  `fixed = {module_adjacency, module_operations, trainable_parameters}` and
  `computed = {epochs: [run, run, run]}`, each run a dict of `final_*`/`halfway_*` values.
  Read with an unpickler that only admits containers and numpy arrays.
- JSON in the official-record layout (`{hash: {module_adjacency, module_operations,
  trainable_parameters, runs_108_epochs: [...]}}`, e.g. `nb101_official_30.json`), or a
  results list (`[{adjacency, operations, <metric>: value, ...}]`, e.g.
  `nb101_val500.json`), keyed by the space's canonical hash of each cell.

Metrics, per cell, at `fidelity` = epochs (108 in `only108`): `val_accuracy` and
`test_accuracy` = mean over the runs of `final_validation_accuracy` / `final_test_accuracy`
in %, `train_seconds` = mean `final_training_time` (also `Record.seconds`), `params` =
`trainable_parameters`. The key is the official module hash, so isomorphic cells are one
entry and one ledger query.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import pickle
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from selfnas.benchmarks.base import LazySpace, TableBenchmark
from selfnas.benchmarks.columnar import load_cached
from selfnas.benchmarks.table import MetricTable
from selfnas.errors import DataCorrupt, DataNotFound, InvalidArchitecture, InvalidOption
from selfnas.progress import track

if TYPE_CHECKING:
    from selfnas.spaces.nb101 import NB101Space

METRICS = ("val_accuracy", "test_accuracy", "train_seconds", "params")
_HASH = re.compile(r"^[0-9a-f]{32}$")
_OPS = {"input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"}

# hash -> [adjacency string, operations string, params, {epochs: [(val, test, seconds)]}]
_Cells = dict[str, list[Any]]


def _check_spec(where: str, module_hash: Any, adjacency: str, operations: list[str]) -> None:
    if not isinstance(module_hash, str) or not _HASH.match(module_hash):
        raise DataCorrupt(f"{where}: module hash {str(module_hash)[:40]!r} is not 32 hex digits")
    dim = round(len(adjacency) ** 0.5)
    if dim * dim != len(adjacency) or not 2 <= dim <= 7 or set(adjacency) - {"0", "1"}:
        raise DataCorrupt(f"{where}: adjacency {adjacency[:60]!r} is not a square 0/1 matrix")
    if len(operations) != dim or not set(operations) <= _OPS:
        raise DataCorrupt(f"{where}: operations {operations!r} do not fit a {dim}-vertex cell")


def _add_run(
    cells: _Cells,
    module_hash: str,
    adjacency: str,
    operations: list[str],
    params: float,
    epochs: int,
    run: tuple[float, float, float],
) -> None:
    cell = cells.get(module_hash)
    if cell is None:
        cell = cells[module_hash] = [adjacency, ",".join(operations), params, {}]
    cell[3].setdefault(int(epochs), []).append(run)


def parse_tfrecord(path: Path) -> _Cells:
    from selfnas.benchmarks.nb101_proto import model_metrics_class
    from selfnas.benchmarks.tfrecord import record_spans

    data = path.read_bytes()
    starts, lengths = record_spans(data, path)
    metrics_cls = model_metrics_class()
    cells: _Cells = {}
    spans = zip(starts.tolist(), lengths.tolist(), strict=True)
    for number, (start, length) in enumerate(
        track(spans, "reading NAS-Bench-101 records", total=len(starts))
    ):
        where = f"{path}: record {number}"
        try:
            row = json.loads(data[start : start + length].decode("utf-8"))
            module_hash, epochs, adjacency, operations, raw = row
            operations = operations.split(",")
            metrics = metrics_cls.FromString(base64.b64decode(raw, validate=True))
            final = metrics.evaluation_data[2]
        except (ValueError, TypeError, AttributeError, IndexError, binascii.Error) as exc:
            raise DataCorrupt(
                f"{where}: not a NAS-Bench-101 record ({type(exc).__name__}: {str(exc)[:120]})"
            ) from None
        except Exception as exc:  # protobuf's DecodeError
            raise DataCorrupt(f"{where}: bad ModelMetrics protobuf ({exc})") from None
        if not isinstance(adjacency, str) or not isinstance(epochs, int):
            raise DataCorrupt(f"{where}: adjacency must be a string and epochs an int")
        _check_spec(where, module_hash, adjacency, operations)
        _add_run(
            cells,
            module_hash,
            adjacency,
            operations,
            float(metrics.trainable_parameters),
            epochs,
            (final.validation_accuracy, final.test_accuracy, final.training_time),
        )
    return cells


class _SafeUnpickler(pickle.Unpickler):
    """Admits only plain containers and numpy arrays/scalars: a data file runs no code."""

    ALLOWED = frozenset(
        {
            ("collections", "OrderedDict"),
            ("collections", "defaultdict"),
            ("builtins", "set"),
            ("builtins", "frozenset"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "scalar"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def safe_unpickle(handle: Any, path: Path) -> Any:
    try:
        return _SafeUnpickler(handle).load()
    except Exception as exc:  # any unpickling failure is a bad file, named as such
        raise DataCorrupt(
            f"{path}: not a readable pickle ({type(exc).__name__}: {str(exc)[:160]})"
        ) from None


def _adjacency_string(matrix: Any, where: str) -> str:
    try:
        array = np.asarray(matrix, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataCorrupt(f"{where}: adjacency is not a numeric matrix") from None
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise DataCorrupt(f"{where}: adjacency is not square")
    return "".join(str(int(v)) for v in array.reshape(-1))


def _runs(cells: _Cells, module_hash: Any, fixed: Mapping, computed: Mapping, where: str) -> None:
    try:
        adjacency = _adjacency_string(fixed["module_adjacency"], where)
        operations = [str(op) for op in fixed["module_operations"]]
        params = float(fixed["trainable_parameters"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataCorrupt(f"{where}: fixed statistics lack {exc}") from None
    _check_spec(where, module_hash, adjacency, operations)
    if not isinstance(computed, Mapping) or not computed:
        raise DataCorrupt(f"{where}: no training runs")
    for epochs, runs in computed.items():
        try:
            for run in runs:
                _add_run(
                    cells,
                    module_hash,
                    adjacency,
                    operations,
                    params,
                    int(epochs),
                    (
                        float(run["final_validation_accuracy"]),
                        float(run["final_test_accuracy"]),
                        float(run["final_training_time"]),
                    ),
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataCorrupt(f"{where}: a run lacks {exc}") from None


def parse_naslib_pickle(path: Path) -> _Cells:
    with open(path, "rb") as handle:
        data = safe_unpickle(handle, path)
    if not isinstance(data, Mapping) or not data:
        raise DataCorrupt(f"{path}: expected NASLib's dict of hash -> (fixed, computed)")
    cells: _Cells = {}
    for module_hash, stats in track(data.items(), "reading NAS-Bench-101 pickle"):
        where = f"{path}: cell {str(module_hash)[:40]}"
        if not isinstance(stats, (tuple, list)) or len(stats) != 2:
            raise DataCorrupt(f"{where}: expected a (fixed, computed) pair")
        if not isinstance(stats[0], Mapping):
            raise DataCorrupt(f"{where}: fixed statistics are not a dict")
        _runs(cells, module_hash, stats[0], stats[1], where)
    return cells


def parse_official_json(path: Path, data: Mapping) -> _Cells:
    cells: _Cells = {}
    for module_hash, entry in data.items():
        where = f"{path}: cell {str(module_hash)[:40]}"
        if not isinstance(entry, Mapping):
            raise DataCorrupt(f"{where}: expected an object")
        computed = {}
        for name, runs in entry.items():
            match = re.fullmatch(r"runs_(\d+)_epochs", str(name))
            if match:
                computed[int(match.group(1))] = runs
        _runs(cells, module_hash, entry, computed, where)
    return cells


def cells_frame(cells: _Cells) -> pd.DataFrame:
    """One row per (cell, epochs): spec and mean metrics over the runs."""
    rows: dict[str, list] = {
        k: [] for k in ("hash", "epochs", "adjacency", "operations", "repeats", *METRICS)
    }
    for module_hash, (adjacency, operations, params, by_epochs) in cells.items():
        for epochs, runs in sorted(by_epochs.items()):
            values = np.asarray(runs, dtype=np.float64)
            rows["hash"].append(module_hash)
            rows["epochs"].append(int(epochs))
            rows["adjacency"].append(adjacency)
            rows["operations"].append(operations)
            rows["repeats"].append(len(runs))
            rows["val_accuracy"].append(100.0 * values[:, 0].mean())
            rows["test_accuracy"].append(100.0 * values[:, 1].mean())
            rows["train_seconds"].append(values[:, 2].mean())
            rows["params"].append(params)
    frame = pd.DataFrame(rows)
    frame["epochs"] = frame["epochs"].astype(np.int64)
    return frame


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataCorrupt(f"{path}: not valid JSON ({type(exc).__name__}: {exc})") from None


def parse_results_json(path: Path, data: list) -> pd.DataFrame:
    """A results list `[{adjacency, operations, metric...}]` keyed by the space's hash.

    A cell listed more than once (several raw specs pruning to it, or one entry per training
    repeat, as NASLib's NB101 lists have) gets the mean of its entries and a `repeats` count."""
    from selfnas.spaces import get_space

    space = cast("NB101Space", get_space("nb101"))
    rows: dict[str, dict[str, Any]] = {}
    for number, item in enumerate(data):
        where = f"{path}: item {number}"
        if not isinstance(item, Mapping):
            raise DataCorrupt(f"{where}: expected an object with adjacency and operations")
        try:
            cell = space.from_spec(item["adjacency"], item["operations"])
        except KeyError as exc:
            raise DataCorrupt(f"{where}: missing {exc}") from None
        except InvalidArchitecture as exc:
            raise DataCorrupt(f"{where}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise DataCorrupt(f"{where}: bad cell ({exc})") from None
        key = space.hash(cell)
        metrics = {
            k: float(v)
            for k, v in item.items()
            if k not in ("adjacency", "operations")
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
        }
        if not metrics:
            raise DataCorrupt(f"{where}: no numeric metric")
        if key in rows:
            # the same cell again (raw specs that prune to one cell, or another training
            # repeat): NB101 reports the mean over repeats, so sum now and divide below
            row = rows[key]
            if set(metrics) != set(row["_sums"]):
                raise DataCorrupt(f"{where}: cell {key} appears again with other metrics")
            for name, value in metrics.items():
                row["_sums"][name] += value
            row["repeats"] += 1
            continue
        spec = cell.to_spec()
        rows[key] = {
            "hash": key,
            "epochs": 108,
            "adjacency": _adjacency_string(spec["adjacency"], where),
            "operations": ",".join(spec["operations"]),
            "repeats": 1,
            "_sums": dict(metrics),
        }
    if not rows:
        raise DataCorrupt(f"{path}: empty results list")
    for row in rows.values():
        sums = row.pop("_sums")
        row.update({name: total / row["repeats"] for name, total in sums.items()})
    return pd.DataFrame(list(rows.values()))


def parse_source(path: Path) -> pd.DataFrame:
    """Detect the source layout and return the columnar frame (see module doc)."""
    suffix = path.suffix.lower()
    if suffix == ".tfrecord":
        return cells_frame(parse_tfrecord(path))
    if suffix in (".pkl", ".pickle", ".p"):
        return cells_frame(parse_naslib_pickle(path))
    if suffix == ".json":
        data = _read_json(path)
        if isinstance(data, Mapping) and data:
            return cells_frame(parse_official_json(path, data))
        if isinstance(data, list):
            return parse_results_json(path, data)
        raise DataCorrupt(f"{path}: expected NB101 records (an object) or results (a list)")
    raise InvalidOption(
        f"{path}: unknown NB101 file type {suffix!r}; give a .tfrecord (official), .pkl "
        "(NASLib) or .json file"
    )


class NB101Benchmark(TableBenchmark):
    """NAS-Bench-101 oracle: mean metrics of each cell's runs, keyed by module hash."""

    name = "nb101"
    space = LazySpace("nb101")

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        from selfnas.benchmarks.sources import require_source

        if path is None:
            source = require_source("nb101")
        else:
            source = Path(path).expanduser()
            if not source.is_file():
                raise DataNotFound(
                    f"nb101: {source} not found. Give nasbench_only108.tfrecord "
                    "(https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord), "
                    "NASLib's nasbench_only108.pkl, or a JSON extract"
                )
        self.path = source
        self.cells = load_cached(source, "nb101", lambda: parse_source(source))
        self._tables: dict[int, MetricTable] = {}

    @property
    def datasets(self) -> tuple[str, ...]:
        return ("cifar10",)

    def fidelities(self, dataset: str | None = None) -> tuple[int, ...]:
        return tuple(sorted(int(e) for e in self.cells["epochs"].unique()))

    def table(self, dataset: str | None = None, fidelity: int | None = None) -> MetricTable:
        self.default_dataset(dataset)
        epochs = self.default_fidelity(fidelity)
        assert epochs is not None, "nb101 lists the epochs of its cells"
        if epochs not in self._tables:
            frame = self.cells[self.cells["epochs"] == epochs]
            numeric = [
                c
                for c in frame.columns
                if c not in ("hash", "epochs", "adjacency", "operations", "repeats")
            ]
            self._tables[epochs] = MetricTable(
                frame["hash"].to_numpy(object),
                {c: frame[c].to_numpy(np.float64) for c in numeric},
                "train_seconds" if "train_seconds" in numeric else None,
            )
        return self._tables[epochs]

    def key(self, arch: Hashable) -> str:
        if isinstance(arch, str):
            text = arch.strip()
            if _HASH.match(text):
                return text
            arch = self.space.parse(text)
        elif isinstance(arch, Mapping):
            matrix = arch.get("adjacency", arch.get("module_adjacency", arch.get("matrix")))
            ops = arch.get("operations", arch.get("module_operations", arch.get("ops")))
            if matrix is None or ops is None:
                raise InvalidArchitecture("an NB101 spec needs adjacency and operations")
            arch = cast("NB101Space", self.space).from_spec(matrix, ops)
        return self.space.hash(arch)

    def table_archs(self, dataset: str | None = None) -> list[Hashable]:
        """The cells of the table, from their stored adjacency bits and op names."""
        self.default_dataset(dataset)
        epochs = self.default_fidelity(None)
        frame = self.cells[self.cells["epochs"] == epochs]
        space = cast("NB101Space", self.space)
        out: list[Hashable] = []
        for bits, ops in zip(frame["adjacency"], frame["operations"], strict=True):
            n = round(len(bits) ** 0.5)
            matrix = np.array([int(b) for b in bits], dtype=np.int64).reshape(n, n)
            out.append(space.from_spec(matrix, ops.split(",")))
        return out
