"""A columnar metric table: one row per arch key, one float64 array per metric.

Every tabular benchmark (NB101, NB201, NB-Graph) answers queries from one of these: an arch's
canonical key maps to a row (a hash table built once), and a metric is a numpy column, so a
prepared batch of keys is answered by one `get_indexer` and one gather. Missing values are
NaN (a user's partial table); they are never reported as results and never win or rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from selfnas.errors import InvalidArchitecture, InvalidOption

#: substrings of metric names where a smaller value is better (costs, not accuracies)
_LOWER_IS_BETTER = ("latency", "param", "seconds", "time", "loss", "flops", "regret")


def higher_is_better(metric: str) -> bool:
    """Accuracies are maximised; costs (latency, params, seconds, losses) are minimised."""
    name = metric.lower()
    return not any(token in name for token in _LOWER_IS_BETTER)


@dataclass
class MetricTable:
    """Metric columns aligned with `keys` (unique strings)."""

    keys: np.ndarray
    columns: dict[str, np.ndarray]
    seconds_column: str | None = None
    _index: pd.Index | None = field(default=None, repr=False)
    _sorted: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, dtype=object)
        for name, column in list(self.columns.items()):
            column = np.asarray(column, dtype=np.float64)
            if column.shape != self.keys.shape:
                raise ValueError(
                    f"column {name!r} has {column.shape[0]} rows, keys have {self.keys.shape[0]}"
                )
            self.columns[name] = column

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, key: str, seconds_column: str | None = None
    ) -> MetricTable:
        columns = {c: frame[c].to_numpy(np.float64) for c in frame.columns if c != key}
        return cls(frame[key].to_numpy(object), columns, seconds_column)

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.columns)

    @property
    def index(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self.keys)
        return self._index

    # --- lookups --------------------------------------------------------------
    def rows(self, keys: Sequence[str] | np.ndarray) -> np.ndarray:
        """Row of each key (-1 where absent): the prepared form of a query batch."""
        return self.index.get_indexer(np.asarray(keys, dtype=object))

    def row(self, key: str) -> int:
        try:
            row = self.index.get_loc(key)
        except KeyError:
            raise InvalidArchitecture(f"{key!r} is not in this benchmark table") from None
        return int(row)

    def column(self, metric: str) -> np.ndarray:
        try:
            return self.columns[metric]
        except KeyError:
            raise InvalidOption(
                f"no metric {metric!r}; this table has {', '.join(self.columns)}"
            ) from None

    def values(self, rows: np.ndarray, metric: str) -> np.ndarray:
        """Gather one metric for prepared rows (NaN where a row is -1)."""
        column = self.column(metric)
        rows = np.asarray(rows, dtype=np.int64)
        out = column[rows]
        out[rows < 0] = np.nan
        return out

    def metrics_of(self, row: int) -> dict[str, float]:
        """All non-missing metrics of one row."""
        out: dict[str, float] = {}
        for name, column in self.columns.items():
            value = column[row]
            if not np.isnan(value):
                out[name] = float(value)
        return out

    # --- whole-table analysis -------------------------------------------------
    def frame(self, key: str = "key") -> pd.DataFrame:
        return pd.DataFrame({key: self.keys, **self.columns})

    def best(self, metric: str) -> tuple[str, float]:
        """(key, value) of the best row for `metric` (NaN rows ignored)."""
        column = self.column(metric)
        if np.all(np.isnan(column)):
            raise InvalidOption(f"metric {metric!r} has no values")
        row = int(np.nanargmax(column) if higher_is_better(metric) else np.nanargmin(column))
        return str(self.keys[row]), float(column[row])

    def _ordered(self, metric: str) -> np.ndarray:
        """Non-missing values sorted best first (ascending in 'badness')."""
        cached = self._sorted.get(metric)
        if cached is None:
            column = self.column(metric)
            column = column[~np.isnan(column)]
            cached = np.sort(-column if higher_is_better(metric) else column)
            self._sorted[metric] = cached
        return cached

    def rank_of_value(self, value: float, metric: str) -> int:
        """1 + number of rows strictly better than `value` (ties share the best rank)."""
        badness = -value if higher_is_better(metric) else value
        return int(np.searchsorted(self._ordered(metric), badness, side="left")) + 1

    def ranks(self, metric: str) -> np.ndarray:
        """Rank of every row (1 = best; NaN rows get 0)."""
        column = self.column(metric)
        badness = -column if higher_is_better(metric) else column
        ranks = np.searchsorted(self._ordered(metric), badness, side="left") + 1
        ranks[np.isnan(column)] = 0
        return ranks.astype(np.int64)

    def count(self, metric: str) -> int:
        return int(self._ordered(metric).shape[0])


def summary(table: MetricTable) -> Mapping[str, float]:
    """Best value per metric (the `optimum` map of `bench info`)."""
    out: dict[str, float] = {}
    for metric in table.metrics:
        if not np.all(np.isnan(table.columns[metric])):
            out[metric] = table.best(metric)[1]
    return out
