"""`selfnas reproduce`: every reproduction runs in --quick mode and writes its report; the
published numbers are the papers' own (checked against the paper texts, row by row)."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_file
from selfnas.cli import main
from selfnas.reproduce import MODULES, get_reproduction

PAPERS = Path(__file__).resolve().parents[3] / "shared" / "papers"
PNG = b"\x89PNG\r\n\x1a\n"


# --- the published numbers ------------------------------------------------------------------
def _forms(value: float) -> set[str]:
    return {f"{value:g}", *(f"{value:.{d}f}" for d in range(5))}


def _appears(value: float, lines: list[str]) -> bool:
    """`value` written as a number on one of `lines` (PDF extraction sometimes triples a
    number, as in `2.922.922.92`: that counts too)."""
    for form in _forms(value):
        pattern = rf"(?<![\d.]){re.escape(form)}(?!\d)"
        if any(re.search(pattern, line) or form * 3 in line for line in lines):
            return True
    return False


@pytest.mark.parametrize("name", list(MODULES))
def test_published_numbers_are_on_the_papers_rows(name):
    item = get_reproduction(name)
    number = re.search(r"/(\d{3})_\*", item.citation)
    assert number, f"{name}: the citation names no paper file"
    files = sorted(PAPERS.glob(f"{number.group(1)}_*.txt"))
    if not files:
        pytest.skip(f"paper texts not at {PAPERS}")
    lines = files[0].read_text().splitlines()
    assert item.published
    for p in item.published:
        # the paper's line(s) for this row: starting with its label, or its first word
        rows = [ln for ln in lines if ln.startswith(p.row)] or [
            ln for ln in lines if ln.split()[:1] == p.row.split()[:1]
        ]
        assert rows, f"{name}: no line of the paper starts like row {p.row!r}"
        for value in (p.value, p.std):
            if value is not None:
                assert _appears(value, rows), f"{name}: {p.row} / {p.column} = {value}"


def test_list_names_every_reproduction(capsys):
    assert main(["reproduce", "--list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["name"] for i in items] == list(MODULES)
    assert all("unavailable" not in i["title"] for i in items)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--out", "x"], "unknown reproduction 'nope'"),
        (["gates-nak"], "give --out DIR"),
        (["gates-nak", "--out", "x", "--seeds", "0"], "--seeds must be >= 1"),
    ],
)
def test_bad_options_fail_in_one_line(args, message, capsys):
    assert main(["reproduce", *args]) == 2
    assert message in capsys.readouterr().err


# --- quick runs, end to end ---------------------------------------------------------------------
def _run(name: str, out: Path, capsys) -> tuple[pd.DataFrame, str]:
    assert main(["reproduce", name, "--out", str(out), "--quick", "--workers", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["report"] == str(out / "report.md") and result["rows"] > 0
    report = (out / "report.md").read_text()
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == result["rows"]
    assert "Mode: quick" in report and "## Ours beside the paper" in report
    measured = frame.dropna(subset=["ours"])
    assert len(measured) and measured["ours"].map(math.isfinite).all()
    both = measured.dropna(subset=["paper"])
    assert len(both), "no row puts ours beside the paper's"
    assert (both["gap"] - (both["ours"] - both["paper"])).abs().max() < 1e-9
    # every measured row says how it was measured
    for column in ("data", "budget", "seeds", "protocol"):
        assert measured[column].notna().all() and (measured[column].astype(str) != "").all()
    pngs = sorted(out.glob("compare_*.png"))
    assert pngs and all(p.read_bytes()[:8] == PNG for p in pngs)
    for png in pngs:
        assert f"]({png.name})" in report
    return measured, report


def test_gates_encoders_quick(tmp_path, capsys):
    shared_file("nb201/nb201_200ep_cifar10.csv")
    measured, report = _run("gates-encoders", tmp_path / "enc", capsys)
    assert set(measured["row"]) == {"GATES", "MLP"} and set(measured["column"]) == {"1%"}
    assert measured["ours"].between(-1, 1).all()
    gates = measured.set_index("row").loc["GATES", "ours"]
    assert gates > 0.3  # a real ranking of held-out NB201 cells, far from chance (0)
    assert "paper number is NAS-Bench-101's" in report


def test_gates_nak_quick(tmp_path, capsys):
    shared_file("nb201/nb201_200ep_cifar10.csv")
    measured, _ = _run("gates-nak", tmp_path / "nak", capsys)
    assert set(measured["column"]) == {
        "ranking N@5", "ranking N@10", "regression N@5", "regression N@10"
    }  # fmt: skip
    assert (measured["ours"] >= 1).all()  # N@K is a rank: 1 is the best cell


def test_gates_losses_quick(tmp_path, capsys):
    shared_file("nb201/nb201_200ep_cifar10.csv")
    measured, _ = _run("gates-losses", tmp_path / "loss", capsys)
    assert set(measured["row"]) == {"Pairwise (Hinge)", "Regression (MSE) + GATES"}


def test_gates_rerun_reuses_cached_cells(tmp_path, capsys, monkeypatch):
    """Every finished seed is kept under OUT/cells/: a rerun (or a resumed run) trains
    nothing again and reports the same numbers."""
    shared_file("nb201/nb201_200ep_cifar10.csv")
    from selfnas.predictors import experiment
    from selfnas.predictors.grid import spec_key

    out = tmp_path / "nak"
    first, _ = _run("gates-nak", out, capsys)
    cells = sorted((out / "cells").glob("*.json"))
    assert len(cells) == 4  # quick: GATES and MLP x hinge and MSE, one seed each
    for cell in cells:
        saved = json.loads(cell.read_text())
        spec = experiment.PredictSpec(**{**saved["spec"], "hidden": tuple(saved["spec"]["hidden"])})
        assert cell.stem == spec_key(spec) and spec.seeds == 1
    # a lost cell is trained again, the others are read back
    cells[0].unlink()
    trained = []
    real = experiment.run_seed

    def counting(spec, *args, **kwargs):
        trained.append(spec)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(experiment, "run_seed", counting)
    second, _ = _run("gates-nak", out, capsys)
    assert len(trained) == 1 and cells[0].is_file()
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))
    trained.clear()
    third, report = _run("gates-nak", out, capsys)
    assert trained == [] and "over 3 invocations" in report
    pd.testing.assert_frame_equal(first.reset_index(drop=True), third.reset_index(drop=True))


def test_arch2vec_pretraining_quick(tmp_path, capsys):
    measured, _ = _run("arch2vec-pretraining", tmp_path / "pre", capsys)
    assert set(measured["table"]) == {"NAS-Bench-201", "DARTS"}
    assert set(measured["row"]) == {"GAE", "VGAE", "arch2vec"}
    assert measured["ours"].between(0, 100).all()


def test_arch2vec_nb201_quick(tmp_path, capsys):
    shared_file("nb201/nb201_12ep.csv")
    shared_file("nb201/nb201_200ep_cifar10.csv")
    measured, report = _run("arch2vec-nb201", tmp_path / "a2v", capsys)
    test = measured[measured["column"] == "test"]
    assert set(test["row"]) == {"RE", "RS", "REINFORCE", "arch2vec-RL", "arch2vec-BO"}
    assert test["ours"].between(85, 94.3733 + 1e-6).all()  # 200-epoch CIFAR-10 test accuracy
    assert "(`selfnas report` reads them)" in report
    assert (tmp_path / "a2v" / "search" / "cifar-10" / "results.parquet").is_file()


def test_locality_table1_quick(tmp_path, capsys):
    shared_file("nb201/nb201_200ep_cifar10.csv")
    measured, report = _run("locality-table1", tmp_path / "loc", capsys)
    assert {"MarginLoss", "NoMetricLoss", "Random"} <= set(measured["row"])
    regret = measured[measured["column"] == "Test Regret (%)"]
    assert (regret["ours"] >= 0).all()
    assert "NB201, not NB101" in report


def test_sswp_ablation_quick(tmp_path, capsys):
    shared_file("images/mnist_5k.npz")
    measured, report = _run("sswp-ablation", tmp_path / "sswp", capsys)
    assert set(measured["row"]) == {"SL", "SSL+FPP"}
    assert measured["ours"].between(0, 100).all()
    assert "Concomitant weights" in report


def test_an_invocation_stopped_by_an_error_still_counts_its_time(tmp_path):
    """Interrupted then resumed: the report's run time covers both pieces."""
    from selfnas.reproduce.base import Context, Report, Reproduction

    calls = []

    def run(ctx: Context) -> Report:
        calls.append(1)
        time.sleep(0.05)
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the first invocation
        return Report("toy", "Toy", "nobody")

    toy = Reproduction("toy", "Toy", "nobody", (), run)
    with pytest.raises(KeyboardInterrupt):
        toy.execute(Context(out=tmp_path))
    ledger = json.loads((tmp_path / "run_seconds.json").read_text())
    assert ledger["invocations"] == 1 and ledger["seconds"] >= 0.05
    report = toy.execute(Context(out=tmp_path))
    assert report.invocations == 2 and report.seconds >= 0.1
    assert report.seconds - report.invocation_seconds == pytest.approx(ledger["seconds"])
