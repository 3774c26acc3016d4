"""`selfnas reproduce sswp-label-fraction` / `sswp-fpp-span`: the SSWP-NAS sweeps run in
--quick mode on three seeds, report every row with its sample std and resume from their
unit records without recomputing anything."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_file
from selfnas.cli import main
from selfnas.reproduce import sswp_sweeps
from selfnas.reproduce.sswp_sweeps import Unit, crossover, run_units
from selfnas.stats import mean_std

PNG = b"\x89PNG\r\n\x1a\n"


def _reproduce(name: str, out: Path, capsys) -> dict:
    argv = ["reproduce", name, "--out", str(out), "--quick", "--workers", "2", "--json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "units").glob("*.json"))}


def _rerun_recomputes_nothing(name: str, out: Path, capsys, monkeypatch) -> None:
    """A second invocation reads every unit record: no search or training runs (the unit
    runner raises if called), the records are untouched and the report is rewritten from
    the same numbers."""
    stamps = {p: p.stat().st_mtime_ns for p in (out / "units").glob("*.json")}
    csv = (out / "results.csv").read_text()

    def refuse(*_args):
        raise AssertionError("a finished unit was recomputed")

    monkeypatch.setattr(sswp_sweeps, "execute_unit", refuse)
    _reproduce(name, out, capsys)
    assert {p: p.stat().st_mtime_ns for p in (out / "units").glob("*.json")} == stamps
    assert (out / "results.csv").read_text() == csv
    assert json.loads((out / "run_seconds.json").read_text())["invocations"] == 2
    assert "over 2 invocations" in (out / "report.md").read_text()


def test_label_fraction_quick_and_resume(tmp_path, capsys, monkeypatch):
    shared_file("images/mnist_5k.npz")
    out = tmp_path / "lf"
    result = _reproduce("sswp-label-fraction", out, capsys)
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == result["rows"]
    curve = frame[frame["table"] == sswp_sweeps.FIG5]
    assert list(curve["row"]) == [
        "10 % labels, concomitant init",
        "10 % labels, random init",
        "20 % labels, concomitant init",
        "20 % labels, random init",
    ]
    assert (curve["seeds"].astype(int) == 3).all()
    assert curve["ours"].between(0, 100).all() and curve["ours_std"].map(math.isfinite).all()
    records = _records(out)
    assert sum(k.startswith("search_") for k in records) == 3
    assert sum(k.startswith("train_") for k in records) == 3 * 2 * 2
    # the table's mean ± std is the sample statistic of the three seeds' trainings
    for fraction in (0.1, 0.2):
        for init in ("concomitant", "random"):
            values = [
                100
                * records[f"train_ssl_fpp_seed{s}_{init}_f{fraction:g}"]["result"]["test_accuracy"]
                for s in range(3)
            ]
            row = curve[curve["row"] == f"{100 * fraction:g} % labels, {init} init"].iloc[0]
            stat = mean_std(values)
            assert row["ours"] == pytest.approx(stat.mean)
            assert row["ours_std"] == pytest.approx(stat.std)
    summary = json.loads((out / "label_fraction_summary.json").read_text())
    acc = summary["accuracy"]
    for f in ("0.1", "0.2"):
        paired = [c - r for c, r in zip(acc["concomitant"][f], acc["random"][f], strict=True)]
        assert summary["paired_difference"][f] == pytest.approx(paired)
    cross = frame[frame["table"] == sswp_sweeps.CROSS_TABLE].iloc[0]
    assert cross["paper"] == 60
    report = (out / "report.md").read_text()
    assert "Mode: quick" in report and "## Paired: concomitant minus random" in report
    assert (out / "accuracy_vs_fraction.png").read_bytes()[:8] == PNG
    _rerun_recomputes_nothing("sswp-label-fraction", out, capsys, monkeypatch)


def test_fpp_span_quick_and_resume(tmp_path, capsys, monkeypatch):
    shared_file("images/mnist_5k.npz")
    out = tmp_path / "fs"
    _reproduce("sswp-fpp-span", out, capsys)
    frame = pd.read_csv(out / "results.csv").set_index("row")
    assert list(frame.index) == list(sswp_sweeps.SPANS)
    assert frame["paper"].to_dict() == {
        "shorter [0.2,0.6,0.2]": 2.65,
        "longer [0.2,0.2,0.6]": 2.68,
        "default [0.2,0.4,0.4]": 2.56,
    }
    assert (frame["seeds"].astype(int) == 3).all()
    assert frame["ours"].between(0, 100).all() and frame["ours_std"].map(math.isfinite).all()
    # the three splits give distinct phase lengths (warm-up/search/prune epochs)
    assert "phases 1/3/1" in frame.loc["shorter [0.2,0.6,0.2]", "budget"]
    assert "phases 1/1/3" in frame.loc["longer [0.2,0.2,0.6]", "budget"]
    assert "phases 1/2/2" in frame.loc["default [0.2,0.4,0.4]", "budget"]
    records = _records(out)
    assert sum(k.startswith("search_") for k in records) == 9
    splits = {tuple(r["unit"]["search"]["split"]) for r in records.values()}
    assert splits == set(sswp_sweeps.SPANS.values())
    assert "minus default per seed" in (out / "report.md").read_text()
    _rerun_recomputes_nothing("sswp-fpp-span", out, capsys, monkeypatch)


def _unit(key: str, kind: str = "search") -> Unit:
    return Unit(key, kind, "run", {"seed": 0}, None)


def test_run_units_runs_searches_before_trainings_and_resumes(tmp_path):
    calls: list[str] = []

    def fake(unit: Unit, device: str, threads: int) -> dict:
        calls.append(unit.key)
        return {"key": unit.key, "threads": threads}

    units = [_unit("train_a", "finetune"), _unit("search_a"), _unit("search_b")]
    done = run_units(units, tmp_path, workers=1, device="cpu", threads=1, runner=fake)
    assert calls == ["search_a", "search_b", "train_a"]
    assert done["train_a"] == {"key": "train_a", "threads": 1}
    calls.clear()
    assert run_units(units, tmp_path, workers=1, device="cpu", threads=1, runner=fake) == done
    assert calls == []
    # a record made for other settings is not reused
    changed = Unit("search_b", "search", "run", {"seed": 1})
    run_units([changed], tmp_path, workers=1, device="cpu", threads=1, runner=fake)
    assert calls == ["search_b"]
    # tuple settings (a phase split) match their record, which JSON stores as a list
    split = Unit("search_c", "search", "run", {"split": (0.2, 0.4, 0.4)})
    run_units([split], tmp_path, workers=1, device="cpu", threads=1, runner=fake)
    run_units([split], tmp_path, workers=1, device="cpu", threads=1, runner=fake)
    assert calls == ["search_b", "search_c"]


def test_crossover_is_where_the_gap_stays_closed():
    fractions = (0.1, 0.3, 0.5)
    # clear gain at 10 %, within one std of zero from 30 % on
    assert crossover(fractions, {0.1: [5, 6, 7], 0.3: [1, -1, 2], 0.5: [0, 0, -1]}) == 0.3
    # a gap that reopens at 50 % does not count as closed at 30 %
    assert crossover(fractions, {0.1: [5, 6, 7], 0.3: [0, 0, 0], 0.5: [3, 3, 3]}) is None
    assert crossover(fractions, {0.1: [-1, -2, 0], 0.3: [0, 0, 0], 0.5: [0, 1, -1]}) == 0.1
