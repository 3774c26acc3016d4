"""`selfnas report` over real search, reproduction and pretraining runs; docs/cli.md freshness."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from selfnas.cli import main
from selfnas.cli.reference import render
from selfnas.reproduce.base import Published, Report, Row, attach_paper
from selfnas.reproduce.writer import write_report
from selfnas.tracking import read_scalars

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
COMPARE = [
    "compare", "--benchmark", "nbgraph", "--dataset", "cora", "--metric", "val_accuracy",
    "--test-metric", "test_accuracy", "--budget", "12", "--workers", "1", "--json",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main([*COMPARE, "--strategies", "random,re", "--seeds", "2",
                 "--out", str(root / "a")]) == 0  # fmt: skip
    assert main([*COMPARE, "--strategies", "random", "--seeds", "3", "--first-seed", "5",
                 "--out", str(root / "b")]) == 0  # fmt: skip
    assert main(["pretrain", "arch2vec", "--space", "nb201", "--subset", "200", "--epochs",
                 "2", "--validity-samples", "50", "--locality-steps", "0",
                 "--out", str(root / "pre"), "--json"]) == 0  # fmt: skip
    report = Report("toy", "Toy reproduction", "nobody")
    published = [Published("T", "A", "acc", 90.0), Published("T", "B", "acc", 80.0)]
    report.rows = attach_paper([Row("T", "A", "acc", 91.5, 0.5, data="d", seeds=2)], published)
    write_report(report, root / "repro")
    return root


def test_report_tabulates_every_kind_of_run(runs, tmp_path, capsys):
    out = tmp_path / "report"
    args = ["report", str(runs / "a"), str(runs / "b"), str(runs / "pre"), str(runs / "repro")]
    assert main([*args, "--out", str(out), "--regret-at", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [len(result["found"][k]) for k in ("search", "reproduction", "pretraining")] == [2, 1, 1]
    text = (out / "report.md").read_text()
    # both compare runs are one problem: one table, one regret plot with all three curves
    assert text.count("### nbgraph cora val_accuracy -> test_accuracy") == 1
    search = pd.read_csv(out / "search.csv")
    assert sorted(zip(search["run"], search["strategy"], search["seeds"], strict=True)) == [
        ("a", "random", 2), ("a", "re", 2), ("b", "random", 3)
    ]  # fmt: skip
    # numbers match the runs' own summaries
    own = json.loads((runs / "a" / "summary.json").read_text())
    row = search[(search["run"] == "a") & (search["strategy"] == "re")].iloc[0]
    assert row["mean_test"] == pytest.approx(own["re"]["mean_test"])
    assert "regret @5" in text and "| a | re | 2 |" in text
    repro = pd.read_csv(out / "reproductions.csv")
    assert list(repro["row"]) == ["A", "B"] and repro["gap"].iloc[0] == pytest.approx(1.5)
    assert pd.isna(repro["ours"].iloc[1])  # the paper's row we did not measure stays visible
    pre = pd.read_csv(out / "pretraining.csv")
    assert pre["objective"].tolist() == ["arch2vec"] and pre["epochs"].tolist() == [2]
    assert 0 <= pre["reconstruction_accuracy"].iloc[0] <= 1
    figures = [Path(f) for f in result["figures"]]
    assert {f.name for f in figures} == {"regret_1.png", "reproduction_1.png",
                                         "pretraining_loss.png"}  # fmt: skip
    for figure in figures:
        assert figure.read_bytes()[:8] == PNG and f"]({figure.name})" in text


def test_report_exports_tensorboard_and_finds_runs_below_a_parent(runs, tmp_path, capsys):
    tb = tmp_path / "tb"
    assert main(["report", str(runs), "--out", str(tmp_path / "r"), "--tensorboard", str(tb)]) == 0
    assert "found 2 search run(s), 1 reproduction run(s), 1 pretraining run(s)" in (
        capsys.readouterr().out
    )
    curve = read_scalars(tb / runs.name / "a" / "re" / "seed_0001")["search/regret"]
    frame = pd.read_parquet(runs / "a" / "results.parquet")
    expected = frame[(frame["strategy"] == "re") & (frame["seed"] == 1)].sort_values("step")
    assert [s for s, _ in curve] == expected["step"].tolist()
    assert [v for _, v in curve] == pytest.approx(expected["regret"].tolist(), rel=1e-6)
    losses = read_scalars(tb / runs.name / "pre" / "metrics")["train_loss"]
    assert [s for s, _ in losses] == [1, 2]


def test_report_without_runs_fails_in_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no selfnas runs found" in capsys.readouterr().err


def test_committed_cli_reference_is_current():
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert committed == render(), (
        "docs/cli.md is stale: run `python -m selfnas.cli.reference > docs/cli.md`"
    )
    assert "## selfnas report" in committed and "## selfnas demo" in committed
