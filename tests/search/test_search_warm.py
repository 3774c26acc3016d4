"""A proxy-ranked warm start: each seed's first archs are its pool's best by the proxy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_file
from selfnas.cli import main
from selfnas.errors import InvalidOption
from selfnas.search.warm import load_warm_start
from selfnas.spaces import get_space


@pytest.fixture(scope="module")
def table():
    return shared_file("nb201/nb201_200ep_cifar10.csv")


@pytest.fixture(scope="module")
def proxy_file(table, tmp_path_factory):
    """The test accuracy itself as a 'proxy' (an oracle), for every NB201 cell."""
    frame = pd.read_csv(table)[["arch", "cifar10_test"]].rename(columns={"cifar10_test": "oracle"})
    path = tmp_path_factory.mktemp("zc") / "oracle.csv"
    frame.to_csv(path, index=False)
    return path


def _run(tmp_path, table, strategy, *extra):
    out = tmp_path / strategy / ("warm" if extra else "plain")
    args = ["search", "--benchmark", "nb201", "--table", str(table), "--metric", "cifar10_test"]
    args += ["--strategy", strategy, "--budget", "12", "--seeds", "2", "--workers", "1"]
    assert main([*args, "--out", str(out), "--json", *extra]) == 0
    return pd.read_parquet(out / "results.parquet")


@pytest.mark.parametrize("strategy", ["re", "gates-ea", "random"])
def test_the_first_archs_are_the_pools_best(tmp_path, capsys, table, proxy_file, strategy):
    warm = ["--warm-start", f"{proxy_file}:oracle", "--warm-size", "5", "--warm-pool", "200"]
    plain = _run(tmp_path, table, strategy)
    started = _run(tmp_path, table, strategy, *warm)
    capsys.readouterr()
    for seed, rows in started.groupby("seed"):
        first = rows.sort_values("step")["value"].to_numpy()[:5]
        assert np.all(np.diff(first) <= 0), "best first, by the (oracle) proxy"
        rng = np.random.default_rng(seed)
        ws = load_warm_start(f"{proxy_file}:oracle", get_space("nb201"), 5, 200)
        expected = [get_space("nb201").format(a) for a in ws.first(rng)]
        assert list(rows.sort_values("step")["arch"][:5]) == expected
    assert (
        started.groupby("seed")["value"].head(5).mean()
        > plain.groupby("seed")["value"].head(5).mean()
    )


def test_a_bad_warm_start_is_a_clear_error(tmp_path, capsys, table, proxy_file):
    space = get_space("nb201")
    with pytest.raises(InvalidOption, match="FILE:PROXY"):
        load_warm_start("nocolon", space)
    with pytest.raises(InvalidOption, match="has no proxy"):
        load_warm_start(f"{proxy_file}:synflow", space)
    with pytest.raises(InvalidOption, match="--warm-pool"):
        load_warm_start(f"{proxy_file}:oracle", space, size=10, pool=5)
