"""`selfnas bench info|query` end to end (JSON output), on the real reference data."""

from __future__ import annotations

import json

import pytest

from conftest import shared_file
from selfnas.cli import main
from selfnas.spaces.darts import DARTS_V2


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_info_nb201_table(capsys):
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    info = _json(capsys, ["bench", "info", "nb201", "--table", str(table), "--json"])
    assert info["size"] == 15625 and info["metrics"] == ["cifar10_test"]
    assert info["optimum"]["cifar10_test"] == pytest.approx(94.3733, abs=5e-5)


def test_query_nb301_darts_v2(capsys):
    shared_file("nb301/yahpo_nb301_surrogate.onnx")
    out = _json(capsys, ["bench", "query", "nb301", "--arch", str(DARTS_V2), "--json"])
    assert out["val_accuracy"] == pytest.approx(95.46, abs=0.01) and out["train_seconds"] > 0


def test_query_nb201_joined_tables_and_nbgraph(capsys):
    t200 = shared_file("nb201/nb201_200ep_cifar10.csv")
    t12 = shared_file("nb201/nb201_12ep.csv")
    arch = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
        "|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    )
    out = _json(
        capsys,
        [
            "bench",
            "query",
            "nb201",
            "--table",
            str(t12),
            "--table",
            str(t200),
            "--metric",
            "cifar10_valid",
            "--arch",
            arch,
            "--json",
        ],
    )
    assert out["nb201_200ep_cifar10:cifar10_test"] == pytest.approx(94.373333)
    assert "cifar10_valid" in out
    out = _json(
        capsys, ["bench", "query", "nbgraph", "--dataset", "proteins", "--arch", "1111", "--json"]
    )
    assert set(out) == {"val_accuracy", "test_accuracy", "latency", "params"}
    assert main(["bench", "query", "nb201", "--table", str(t200), "--arch", arch]) == 0
    assert "rank (cifar10_test)" in capsys.readouterr().out


def test_user_errors_are_one_line(capsys, tmp_path):
    assert main(["bench", "query", "nb201", "--table", str(tmp_path / "x.csv"), "--arch", "a"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "x.csv" in err and err.count("\n") == 1
    shared_file("nb201/nb201_200ep_cifar10.csv")
    assert main(["bench", "query", "nb201", "--arch", "|bogus~0|"]) == 2
    assert main(["bench", "info", "nb999"]) == 2
