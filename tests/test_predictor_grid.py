"""Grid layout: cells per table, encoder options in names, markdown and CSV output."""

from __future__ import annotations

import pandas as pd
import pytest

from selfnas.errors import InvalidOption
from selfnas.predictors.experiment import PredictSpec
from selfnas.predictors.grid import COLUMNS, grid_specs, markdown, parse_encoder, write


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
    assert "| | 0.5% (78) | 1% (156) | N@5 @ 156 | N@10 @ 156 |" in text.replace("|  |", "| |")
    assert "| gates | 0.750 ± 0.000 | 0.800 ± 0.000 | 1.0 | 1.0 |" in text
    assert "| mlp | - | 0.600 ± 0.000 | 40.0 | 40.0 |" in text
    assert "Losses" in text
    paths = write(frame, tmp_path / "grid", 15625, "<!-- cmd -->\n\n")
    assert [p.name for p in paths] == ["grid.csv", "grid.md"]
    assert pd.read_csv(paths[0]).shape == (4, len(COLUMNS))
    assert paths[1].read_text().startswith("<!-- cmd -->")
