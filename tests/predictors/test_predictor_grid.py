"""Grid layout: cells per table, encoder options in names, markdown and CSV output."""

from __future__ import annotations

import pandas as pd
import pytest

from selfnas.errors import InvalidOption
from selfnas.predictors.experiment import PredictSpec
from selfnas.predictors.grid import (
    COLUMNS,
    grid_specs,
    markdown,
    parse_encoder,
    reusable,
    spec_key,
    write,
)


def test_parse_encoder_options():
    assert parse_encoder("gates") == ("gates", {})
    assert parse_encoder("gates:form=node;layers=[64,64]") == (
        "gates",
        {"form": "node", "layers": [64, 64]},
    )
    with pytest.raises(InvalidOption):
        parse_encoder("gates:form")


def test_grid_specs_cover_both_tables():
    cells = grid_specs(
        PredictSpec(seeds=1),
        ["gates", "mlp"],
        ["mse", "hinge"],
        [78, 156],
        pretrained={"gin+a2v": "/runs/a2v"},
    )
    tables = [(t, label, s.train_size) for t, label, s in cells]
    assert ("encoders", "gates", 78) in tables and ("losses", "mse", 156) in tables
    pre = [s for t, label, s in cells if label == "gin+a2v (pretrained)"]
    assert [s.encoder for s in pre] == ["gin", "gin"] and pre[0].pretrained == "/runs/a2v"
    assert {s.loss for t, _, s in cells if t == "encoders"} == {"hinge"}
    assert {s.encoder for t, _, s in cells if t == "losses"} == {"gates"}


def _row(table, row, size, tau, n5):
    values = dict.fromkeys(COLUMNS, 0.0)
    values.update(table=table, row=row, train_size=size, kendall_tau=tau, n_at_5=n5, n_at_10=n5)
    return values


def test_markdown_layout_and_files(tmp_path):
    frame = pd.DataFrame(
        [
            _row("encoders", "gates", 78, 0.75, 2.0),
            _row("encoders", "gates", 156, 0.80, 1.0),
            _row("encoders", "mlp", 156, 0.60, 40.0),
            _row("losses", "mse", 156, 0.70, 9.0),
        ],
        columns=list(COLUMNS),
    )
    text = markdown(frame, 15625)
    header = "| | 0.5% (78) | 1% (156) | N@5 / N@10 @ 78 | N@5 / N@10 @ 156 |"
    assert header in text.replace("|  |", "| |")
    assert "| gates | 0.750 ± 0.000 | 0.800 ± 0.000 | 2.0 / 2.0 | 1.0 / 1.0 |" in text
    assert "| mlp | - | 0.600 ± 0.000 | - | 40.0 / 40.0 |" in text
    assert "Losses" in text
    only = markdown(frame, 15625, nk_sizes=[156])
    assert "| gates | 0.750 ± 0.000 | 0.800 ± 0.000 | 1.0 / 1.0 |" in only
    paths = write(frame, tmp_path / "grid", 15625, "<!-- cmd -->\n\n")
    assert [p.name for p in paths] == ["grid.csv", "grid.md"]
    assert pd.read_csv(paths[0]).shape == (4, len(COLUMNS))
    assert paths[1].read_text().startswith("<!-- cmd -->")


def test_spec_key_tracks_every_field():
    base = PredictSpec(seeds=3)
    assert spec_key(base) == spec_key(PredictSpec(seeds=3))
    assert spec_key(base) != spec_key(PredictSpec(seeds=2))
    assert spec_key(base) != spec_key(PredictSpec(seeds=3, epochs=100))
    assert spec_key(base) != spec_key(PredictSpec(seeds=3, pretrained="/runs/a2v"))


def test_reusable_matches_keys_only():
    cells = grid_specs(PredictSpec(seeds=1), ["gates", "mlp"], ["mse"], [78])
    gates = next(s for _, label, s in cells if label == "gates")
    keyed = {**_row("encoders", "gates", 78, 0.75, 2.0), "spec_key": spec_key(gates)}
    stale = {**_row("encoders", "gates", 78, 0.5, 9.0), "spec_key": "0" * 16}
    unkeyed = {**_row("encoders", "mlp", 78, 0.6, 3.0), "spec_key": float("nan")}
    frame = pd.DataFrame([keyed, stale, unkeyed], columns=list(COLUMNS))
    found = reusable(frame, cells)
    assert set(found) == {spec_key(gates)} and found[spec_key(gates)]["kendall_tau"] == 0.75
    # a different seed count is another configuration
    assert reusable(frame, grid_specs(PredictSpec(seeds=2), ["gates"], [], [78])) == {}
    assert reusable(frame.drop(columns="spec_key"), cells) == {}


def test_cli_grid_resume_runs_only_missing_cells(tmp_path, capsys):
    from conftest import shared_file
    from selfnas.cli import main

    out = tmp_path / "grid"
    common = [
        "predict-grid", "--space", "nb201", "--benchmark", "nb201",
        "--table", str(shared_file("nb201/nb201_200ep_cifar10.csv")),
        "--metric", "cifar10_test", "--encoders", "mlp", "--losses", "mse",
        "--seeds", "1", "--epochs", "2", "--hidden", "8", "--out", str(out), "--json",
    ]  # fmt: skip
    assert main([*common, "--train-sizes", "20"]) == 0
    first = pd.read_csv(out.with_suffix(".csv"))
    assert len(first) == 2 and first["spec_key"].notna().all()
    capsys.readouterr()
    assert main([*common, "--train-sizes", "20,30", "--resume"]) == 0
    second = pd.read_csv(out.with_suffix(".csv"))
    assert len(second) == 4
    old = second[second["train_size"] == 20].reset_index(drop=True)
    # reused rows keep their measured seconds (a rerun would measure new ones)
    assert old["seconds_per_run"].tolist() == first["seconds_per_run"].tolist()
    assert old["spec_key"].tolist() == first["spec_key"].tolist()
    assert set(second["train_size"]) == {20, 30}
    assert "N@5 / N@10 @ 30" in out.with_suffix(".md").read_text()


def test_a_field_added_later_keeps_saved_keys_at_its_default():
    """Grid cells saved before `ensemble` existed are still found by a rerun."""
    from selfnas.predictors.experiment import PredictSpec
    from selfnas.predictors.grid import spec_key

    assert spec_key(PredictSpec()) == "3f7e4ef7a8d2305b"  # the key before the field
    assert spec_key(PredictSpec(ensemble=3)) != spec_key(PredictSpec())
