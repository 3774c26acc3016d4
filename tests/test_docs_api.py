"""docs/api.md's examples run as written and find what they say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from selfnas.runs import PretrainRun, RunDir, run_kind

ROOT = Path(__file__).resolve().parents[1]


def _example(index: int) -> str:
    """The `index`-th python block of docs/api.md (0: `optimize`, 1: the pipeline)."""
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    return blocks[index]


def _run(code: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    return namespace


def test_the_api_example_runs(tmp_path, monkeypatch, capsys):
    result = _run(_example(0), tmp_path, monkeypatch)["result"]
    assert len(result.history) == 8
    assert 0 <= result.best_value <= 100 and result.best_value == result.history["value"].max()
    assert result.best_value > 20, "one epoch of a conv cell beats chance (10 %) on digits"
    assert (tmp_path / "runs" / "mine" / "trials").is_dir()
    assert str(result.best_arch) in capsys.readouterr().out


def test_the_pipeline_example_runs_and_writes_cli_runs(tmp_path, monkeypatch, capsys):
    names = _run(_example(1), tmp_path, monkeypatch)
    runs = tmp_path / "runs"
    assert run_kind(runs / "a2v") == "pretraining" and run_kind(runs / "compare") == "search"
    config = json.loads((runs / "a2v" / "config.json").read_text())
    assert config["objective"] == "arch2vec" and config["subset"] == 300
    with np.load(runs / "embeddings.npz") as npz:
        assert npz["embeddings"].shape[0] == len(set(npz["hashes"].tolist())) > 300
    frame = names["searched"].frame
    assert set(frame["strategy"]) == {"random", "bo"} and len(frame) == 2 * 2 * 15
    assert (runs / "compare" / "regret.png").is_file()
    assert -1 <= names["ranking"]["kendall_tau"] <= 1
    assert "PretrainRun RunDir" in capsys.readouterr().out
    # what the pipeline wrote reads back: the trained weights, the search rows
    again = PretrainRun.open(runs / "a2v")
    batch = again.data()[:8]
    torch.testing.assert_close(again.objective.embed(batch), names["run"].objective.embed(batch))
    assert len(RunDir(runs / "compare").read_results()) == len(frame)
