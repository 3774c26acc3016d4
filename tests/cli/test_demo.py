"""`selfnas demo` end to end at toy size: the table, both PNGs, and a resuming rerun."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import shared_file
from selfnas.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["--seeds", "2", "--budget", "20", "--epochs", "1", "--pretrain-archs", "300"]
TINY += ["--train-budget", "5", "--train-epochs", "1"]


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_demo_nbgraph_table_plots_and_resume(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "1", *TINY]) == 0
    printed = capsys.readouterr().out
    for label in ("random search", "regularised evolution", "arch2vec-BO", "GATES-EA"):
        assert label in printed
    regret, emb_map = out / "search" / "regret.png", out / "embeddings.png"
    assert f"regret plot:   {regret}" in printed and f"embedding map: {emb_map}" in printed
    for png in (regret, emb_map):
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000

    results = pd.read_parquet(out / "search" / "results.parquet")
    counts = results.groupby(["strategy", "seed"]).size()
    assert len(counts) == 8 and (counts == 20).all()  # 4 strategies x 2 seeds x 20 queries
    assert (results["regret"] >= 0).all()
    record = json.loads((out / "demo.json").read_text())
    assert record["benchmark"] == "nbgraph" and record["dataset"] == "cora"
    assert set(record["summary"]) == {"random", "re", "bo", "gates-ea"}
    assert not record["resumed"] and record["seconds"]["total"] > 0
    table = (out / "comparison.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(lines) == 5 and "mean regret @20" in lines[0]  # header + 4 strategies

    before = _mtimes(out)
    assert main(["demo", "--out", str(out), "--workers", "1", "--json", *TINY]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["resumed"] and again["summary"] == record["summary"]
    after = _mtimes(out)
    # nothing recomputed: checkpoint, embeddings and every finished seed are untouched
    for name in ("pretrain/checkpoint.pt", "embeddings.npz"):
        assert after[out / name] == before[out / name]
    seeds = [p for p in before if "seeds" in p.parts]
    assert len(seeds) == 8 + 2 and all(after[p] == before[p] for p in seeds)  # + real search
    assert (out / "comparison.md").read_text() == table


def test_demo_real_search_trains_networks(tmp_path, capsys):
    """The demo's last step: every query of GATES-EA and random search trained a real
    NB201 network on digits, and the best of each is reported with its accuracy."""
    from selfnas.trials.store import DONE, TrialStore

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "1", "--json", *TINY]) == 0
    record = json.loads(capsys.readouterr().out)
    real = record["real_search"]
    assert set(real["best"]) == {"random", "gates-ea"} and real["budget"] == 5
    for best in real["best"].values():
        assert 0 <= best["test_accuracy"] <= 100 and best["params"] > 100_000
        assert 1 <= best["queries_to_best"] <= 5
    trials = TrialStore(out / "real" / "trials").all()
    assert 5 <= len(trials) <= 10 and all(t.status == DONE for t in trials)
    assert (out / "real" / "search" / "best.png").read_bytes()[:8] == PNG
    rows = pd.read_parquet(out / "real" / "search" / "results.parquet")
    assert rows.groupby("strategy").size().to_dict() == {"random": 5, "gates-ea": 5}


def test_demo_nb201_with_a_table(tmp_path, capsys):
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    out = tmp_path / "nb201"
    args = ["demo", "--benchmark", "nb201", "--table", str(table), "--out", str(out)]
    args += ["--strategies", "random,bo", "--seeds", "1", "--budget", "20", "--epochs", "1"]
    args += ["--pretrain-archs", "300", "--workers", "1", "--json", "--train-budget", "0"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["benchmark"] == "nb201" and record["test_metric"] == "cifar10_test"
    for strategy in ("random", "bo"):
        best = record["summary"][strategy]["mean_test"]
        assert 80.0 < best <= 94.3733 + 1e-6  # a real NB201 accuracy, at most the optimum
    assert (out / "embeddings.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmark", "nb201"], "needs --table"),
        (["--strategies", "random,nope"], "unknown nope"),
        (["--seeds", "0"], "must be >= 1"),
    ],
)
def test_demo_bad_options_fail_in_one_line(tmp_path, capsys, args, message):
    assert main(["demo", "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x" / "pretrain").exists()
