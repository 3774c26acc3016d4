"""`selfnas train` and `selfnas net info` end to end: JSON outputs, resume, clear errors."""

from __future__ import annotations

import json

import pytest

from selfnas.cli import main

ARCH = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
TRAIN = [
    "train", "--space", "nb201", "--arch", ARCH, "--dataset", "digits", "--epochs", "2",
    "--channels", "4", "--cells", "1", "--seed", "3", "--threads", "1",
    "--recipe-option", "batch_size=64", "--recipe-option", "val_fraction=0.1",
]  # fmt: skip


def test_train_prints_json_writes_result_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {
        "val_accuracy",
        "test_accuracy",
        "seconds",
        "params",
        "epochs",
        "dataset",
    }
    assert printed["params"] == 11766 and printed["epochs"] == 2
    assert printed["test_accuracy"] > 30.0 and printed["dataset"] == "digits"
    saved = json.loads((out / "result.json").read_text())
    assert saved["test_accuracy"] == printed["test_accuracy"]
    assert saved["recipe"]["batch_size"] == 64 and [h["epoch"] for h in saved["history"]] == [1, 2]

    assert main([*TRAIN, "--out", str(out), "--json"]) == 0  # finished: evaluated, not retrained
    assert json.loads(capsys.readouterr().out) == printed

    assert main([*TRAIN, "--out", str(out), "--recipe-option", "lr=0.05", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_net_info_counts_the_benchmark_network(capsys):
    pytest.importorskip("selfnas.nets.flops")
    assert main(["net", "info", "--space", "nb201", "--arch", ARCH, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 615_386  # the benchmark's own count on CIFAR-10
    assert isinstance(info["flops"], int) and info["flops"] > 0
    assert main(["net", "info", "--space", "nb201", "--arch", ARCH, "--dataset", "cifar100"]) == 0
    assert "params" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--space", "nb201", "--arch", "|bogus~0|+|", "--dataset", "digits", "--json"],
        ["train", "--space", "nope", "--arch", ARCH, "--dataset", "digits"],
        [*TRAIN, "--recipe-option", "speed=3"],
        [*TRAIN[:-4], "--dataset", "nosuchset"],
        ["net", "info", "--space", "nb201", "--arch", "not an arch", "--json"],
        ["net", "info", "--space", "nb201", "--arch", ARCH, "--dataset", "mars"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert captured.out == ""


def test_missing_data_file_names_it(tmp_path, capsys):
    argv = ["train", "--space", "nb201", "--arch", ARCH, "--dataset", "cifar10"]
    assert main([*argv, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "data_batch_1" in err and "cifar-10-python.tar.gz" in err
