"""NAS-Bench-201 from tables: any CSV/Parquet with an `arch` column and numeric metrics.

This is how users bring their own results on the NB201 space and how the reference CSVs
are read. Each row is one cell, keyed by its standard string
(`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, normalised through `NB201Space.parse`). NB201 lists
isomorphic cells as separate entries with their own measured accuracies, so the key is the
exact cell, never an isomorphism class.

Several tables join on `arch` (an outer join: a cell missing from one table simply has no
value for that table's columns). Column names are kept as they are (`cifar10_test`); where
a later table repeats a name already taken, its column is named `<file stem>:<column>`
(e.g. `nb201_12ep:cifar10_test`), so the first table given owns the plain names. This is
how a 12-epoch validation column can drive a search judged on the 200-epoch test column.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from selfnas.benchmarks.base import TableBenchmark
from selfnas.benchmarks.columnar import load_cached
from selfnas.benchmarks.table import MetricTable
from selfnas.errors import DataCorrupt, DataNotFound, InvalidArchitecture, InvalidOption
from selfnas.spaces import get_space

TABLE_DATASET = "table"


def _read_raw(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"arch": str}, low_memory=False)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataCorrupt(
            f"{path}: not a readable {'Parquet' if suffix else 'CSV'} table "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    except Exception as exc:  # pyarrow raises its own error family on broken files
        raise DataCorrupt(
            f"{path}: not a readable table ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def parse_table(path: Path) -> pd.DataFrame:
    """Validate and normalise one table: `arch` (standard strings) + float64 metrics."""
    raw = _read_raw(path)
    if "arch" not in raw.columns:
        raise DataCorrupt(
            f"{path}: no `arch` column (found {', '.join(map(str, raw.columns[:8]))}); an NB201 "
            "table needs `arch` with the standard |op~0|+|op~0|op~1|+|... strings"
        )
    if len(raw) == 0:
        raise DataCorrupt(f"{path}: the table has no rows")
    space = get_space("nb201")
    keys: list[str] = []
    for number, text in enumerate(raw["arch"].tolist()):
        try:
            keys.append(space.hash(space.parse(str(text))))
        except InvalidArchitecture as exc:
            raise DataCorrupt(
                f"{path}: row {number + 1}: bad arch {str(text)[:80]!r}: {exc}"
            ) from None
    out = pd.DataFrame({"arch": keys})
    for column in raw.columns:
        if column == "arch":
            continue
        values = raw[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            continue
        out[str(column)] = values.to_numpy(np.float64)
    if out.shape[1] == 1:
        raise DataCorrupt(f"{path}: no numeric metric column beside `arch`")
    duplicated = out["arch"].duplicated()
    if duplicated.any():
        first = out["arch"][duplicated].iloc[0]
        raise DataCorrupt(f"{path}: arch {first} appears more than once")
    return out


def load_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """`parse_table`, cached as Parquet beside the source (or in the cache directory)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFound(
            f"NB201 table {path} not found: give a CSV or Parquet file with an `arch` column "
            "(the standard cell strings) and numeric metric columns"
        )
    return load_cached(path, "nb201table", lambda: parse_table(path))


def join_tables(paths: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """Outer-join tables on `arch`; a repeated column name is qualified by its file stem."""
    joined: pd.DataFrame | None = None
    for path in paths:
        frame = load_table(path)
        if joined is not None:
            stem = Path(path).stem
            renames = {c: f"{stem}:{c}" for c in frame.columns if c != "arch" and c in joined}
            frame = frame.rename(columns=renames)
            clash = [c for c in frame.columns if c != "arch" and c in joined]
            if clash:
                raise InvalidOption(f"column {clash[0]!r} given twice by tables of one stem")
            joined = joined.merge(frame, on="arch", how="outer", sort=False)
        else:
            joined = frame
    if joined is None:
        raise InvalidOption("nb201 needs at least one table (tables=[...] or --table FILE)")
    return joined


class NB201Tables(TableBenchmark):
    """NAS-Bench-201 oracle over one or more user tables joined on `arch`."""

    name = "nb201"

    def __init__(self, tables: Sequence[str | os.PathLike[str]]) -> None:
        if isinstance(tables, (str, os.PathLike)):
            tables = [tables]
        self.space = get_space("nb201")
        self.paths = [Path(t).expanduser() for t in tables]
        frame = join_tables(self.paths)
        self._table = MetricTable.from_frame(frame, "arch")

    @property
    def datasets(self) -> tuple[str, ...]:
        return (TABLE_DATASET,)

    def default_dataset(self, dataset: str | None) -> str:
        if dataset not in (None, TABLE_DATASET):
            raise InvalidOption(
                f"nb201 tables have no datasets, only columns ({', '.join(self._table.metrics)})"
                "; choose one with --metric"
            )
        return TABLE_DATASET

    def table(self, dataset: str | None = None, fidelity: int | None = None) -> MetricTable:
        if fidelity is not None:
            raise InvalidOption("nb201 tables have one fidelity per column; leave fidelity unset")
        return self._table

    def test_metric(self, dataset: str | None = None) -> str | None:
        for metric in self._table.metrics:
            if "test" in metric.lower():
                return metric
        return None

    def key(self, arch: Hashable) -> str:
        if isinstance(arch, str):
            arch = self.space.parse(arch)
        return self.space.hash(arch)

    def table_archs(self, dataset: str | None = None) -> list[Hashable]:
        """The cells of the joined tables, parsed from their `arch` strings."""
        return [self.space.parse(str(text)) for text in self._table.keys]
