"""`selfnas pretrain`, `selfnas embed` and `selfnas plot locality` end to end on NB201."""

from __future__ import annotations

import json

import numpy as np
import pytest

from selfnas.cli import main

RUN = [
    "pretrain", "arch2vec", "--space", "nb201", "--subset", "300", "--epochs", "2",
    "--batch-size", "64", "--validity-samples", "100", "--locality-steps", "40",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("a2v") / "run"
    assert main([*RUN, "--out", str(out), "--json"]) == 0
    return out


def test_pretrain_prints_the_promised_json(run_dir, capsys):
    assert main([*RUN, "--out", str(run_dir), "--json"]) == 0  # finished: resumes, no work
    result = json.loads(capsys.readouterr().out)
    for key in ("reconstruction_accuracy", "validity", "uniqueness"):
        assert 0.0 <= result[key] <= 1.0
    assert result["seconds"] > 0
    assert -1.0 <= result["locality_spearman"] <= 1.0
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert [r["epoch"] for r in saved["history"]] == [1, 2]
    assert saved["final"]["validity"] == result["validity"]
    assert {"checkpoint.pt", "config.json", "locality.npz"} <= {p.name for p in run_dir.iterdir()}


def test_changed_options_on_the_same_directory_fail_in_one_line(run_dir, capsys):
    assert main([*RUN, "--out", str(run_dir), "--lr", "0.5", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "options" in err and err.count("\n") == 1


def test_embed_covers_the_whole_space_with_hashes(run_dir, tmp_path, capsys):
    out = tmp_path / "emb.npz"
    assert main(["embed", str(run_dir), "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["count"] == 15_625 and info["dim"] == 16
    with np.load(out) as npz:
        assert npz["embeddings"].shape == (15_625, 16)
        assert len(set(npz["hashes"].tolist())) == 15_625


def test_plot_locality_writes_a_png(run_dir, tmp_path):
    png = tmp_path / "loc.png"
    assert main(["plot", "locality", str(run_dir), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_missing_run_directory_is_a_clear_error(tmp_path, capsys):
    assert main(["embed", str(tmp_path / "nope"), "--out", str(tmp_path / "e.npz")]) == 2
    assert "config.json is absent" in capsys.readouterr().err


def test_unknown_objective_is_a_clear_error(tmp_path, capsys):
    argv = ["pretrain", "word2vec", "--space", "nb201", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "unknown objective" in capsys.readouterr().err


def test_nb101_runs_record_the_space_defaults_and_old_runs_still_load(tmp_path, capsys):
    import torch

    from selfnas.pretrain.registry import get_objective, resolve_options
    from selfnas.runs.pretrain import load_run
    from selfnas.spaces import get_space

    assert resolve_options("arch2vec", "nb101", {}) == {"vertex_ids": True, "kl_weight": 4.5e-3}
    assert resolve_options("arch2vec", "nb101", {"kl_weight": 1e-3})["kl_weight"] == 1e-3
    assert resolve_options("arch2vec", "nb101", {"encoder": "gcn"}) == {"encoder": "gcn"}
    assert resolve_options("arch2vec", "nb201", {}) == {}
    out = tmp_path / "nb101"
    args = [
        "pretrain", "arch2vec", "--space", "nb101", "--subset", "200", "--epochs", "1",
        "--validity-samples", "50", "--locality-steps", "0", "--out", str(out), "--json",
    ]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    config = json.loads((out / "config.json").read_text())
    assert config["options"] == {"vertex_ids": True, "kl_weight": 4.5e-3}
    objective, _, _ = load_run(out)
    assert objective.encoder.vertex_ids == 7 and objective.kl_weight == 4.5e-3
    # a run written before the option existed: no `vertex_ids` in its config, no positions
    old = tmp_path / "old"
    old.mkdir()
    space = get_space("nb101")
    plain = get_objective("arch2vec", space, vertex_ids=False)
    torch.save({"model": plain.state_dict()}, old / "checkpoint.pt")
    (old / "config.json").write_text(json.dumps({"objective": "arch2vec", "space": "nb101"}))
    objective, _, _ = load_run(old)
    assert objective.encoder.vertex_ids == 0
    batch = space.batch(space.sample(4, np.random.default_rng(0)))
    torch.testing.assert_close(objective.embed(batch), plain.eval().embed(batch))
