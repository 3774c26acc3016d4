"""MetricTable lookups, optimum and ranks against brute force; the columnar cache."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from selfnas.benchmarks.columnar import cache_paths, load_cached
from selfnas.benchmarks.table import MetricTable, higher_is_better
from selfnas.errors import InvalidArchitecture, InvalidOption


def _table(rng: np.random.Generator, n: int = 200) -> MetricTable:
    acc = np.round(rng.normal(90, 2, n), 1)  # rounding makes ties
    acc[3] = np.nan
    return MetricTable(
        np.array([f"a{i}" for i in range(n)], dtype=object),
        {"val_accuracy": acc, "latency": rng.random(n)},
    )


def test_direction_of_metrics():
    assert higher_is_better("val_accuracy") and higher_is_better("cifar10_test")
    assert not higher_is_better("latency") and not higher_is_better("train_seconds")
    assert not higher_is_better("params")


def test_ranks_match_brute_force_with_ties_and_missing():
    table = _table(np.random.default_rng(0))
    acc = table.columns["val_accuracy"]
    ranks = table.ranks("val_accuracy")
    for row in range(len(table)):
        if np.isnan(acc[row]):
            assert ranks[row] == 0
        else:
            assert ranks[row] == 1 + int(np.sum(acc[~np.isnan(acc)] > acc[row]))
    lat = table.columns["latency"]
    assert table.ranks("latency")[int(np.argmin(lat))] == 1
    assert table.count("val_accuracy") == len(table) - 1


def test_best_and_lookups():
    table = _table(np.random.default_rng(1))
    key, value = table.best("val_accuracy")
    assert value == np.nanmax(table.columns["val_accuracy"])
    assert table.columns["val_accuracy"][table.row(key)] == value
    assert table.best("latency")[1] == table.columns["latency"].min()
    rows = table.rows(["a5", "nope", "a0"])
    assert rows.tolist() == [5, -1, 0]
    values = table.values(rows, "latency")
    assert np.isnan(values[1]) and values[0] == table.columns["latency"][5]
    assert "val_accuracy" not in table.metrics_of(3)  # missing values are never reported
    with pytest.raises(InvalidArchitecture):
        table.row("nope")
    with pytest.raises(InvalidOption, match="no metric"):
        table.column("accuracy")


def test_cache_beside_writable_source_and_rebuilt_when_source_changes(tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("a\n1\n")
    calls = []

    def build():
        calls.append(1)
        return pd.read_csv(source)

    first = load_cached(source, "test", build)
    again = load_cached(source, "test", build)
    assert len(calls) == 1 and again.equals(first)
    assert cache_paths(source, "test")[0].is_file()
    source.write_text("a\n1\n2\n")
    os.utime(source, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert len(load_cached(source, "test", build)) == 2 and len(calls) == 2


def test_read_only_source_folder_uses_cache_dir_and_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    source = folder / "t.csv"
    source.write_text("a\n1\n")
    monkeypatch.setenv("SELFNAS_CACHE", str(tmp_path / "cache"))
    folder.chmod(0o555)
    try:
        load_cached(source, "test", lambda: pd.read_csv(source))
        beside, fallback = cache_paths(source, "test")
        assert not beside.exists() and fallback.is_file()
        fallback.write_bytes(b"not parquet")
        calls = []
        frame = load_cached(source, "test", lambda: calls.append(1) or pd.read_csv(source))
        assert calls and frame["a"].tolist() == [1]
    finally:
        folder.chmod(0o755)
