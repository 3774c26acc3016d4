"""Linear probe (`oneshot finetune --linear-probe`, SSWP-NAS Table 6): frozen features,
only a fresh linear classifier trains; old fine-tune records still load; exact resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import selfnas.oneshot.finetune as finetune_module
from conftest import tiny_search_config
from selfnas.oneshot.data import ImageData, load_dataset
from selfnas.oneshot.finetune import PROBE_LR, FinetuneConfig, finetune
from selfnas.oneshot.network import load_network
from selfnas.oneshot.search import run_search
from selfnas.runs import FinetuneRun


@pytest.fixture(scope="module")
def digits() -> ImageData:
    """400 train / 200 test images of the embedded 8x8 digits."""
    d = load_dataset("digits")
    return ImageData("digits", d.train_x[:400], d.train_y[:400], d.test_x[:200], d.test_y[:200], 10)


@pytest.fixture(scope="module")
def searched(tmp_path_factory, digits) -> Path:
    """A finished two-epoch search on the digits (its network.pt and config.json)."""
    out = tmp_path_factory.mktemp("probe") / "search"
    config = tiny_search_config(dataset="digits", epochs=2, images_per_epoch=32)
    run_search(config, out, data=digits)
    return out


def _copy(searched: Path, to: Path) -> Path:
    shutil.copytree(searched, to, ignore=shutil.ignore_patterns("finetune"))
    return to


def _probe(**changes) -> FinetuneConfig:
    base = dict(
        label_fraction=1.0,
        epochs=10,
        batch_size=32,
        lr=0.5,
        linear_probe=True,
        device="cpu",
        threads=1,
    )
    base.update(changes)
    return FinetuneConfig(**base)  # type: ignore[arg-type]


def _features(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith("head.")}


def test_linear_probe_freezes_the_features_and_trains_the_classifier(tmp_path, searched, digits):
    run = _copy(searched, tmp_path / "run")
    config = _probe()
    result = finetune(run, config, data=digits)
    assert result["linear_probe"] is True and result["init"] == "concomitant"
    assert result["test_accuracy"] > 0.2  # chance is 0.1
    assert (run / "finetune" / "concomitant_linear_f1_e10_s0.json").exists()

    start = load_network(run / "network.pt")
    trained = torch.load(run / "finetune" / f"{config.tag}.pt", weights_only=False)["model"]
    before, after = _features(start.state_dict()), _features(trained)
    assert set(before) == set(after)
    assert any(k.endswith("running_mean") for k in before)  # BatchNorm statistics are checked
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.manual_seed(config.seed)  # the fresh classifier the probe started from
    start.replace_head("linear", digits.num_classes)
    assert not torch.equal(start.head.weight, trained["head.weight"])

    # control: a full fine-tune moves the same features and statistics
    tuned = finetune(run, _probe(linear_probe=False, epochs=1), data=digits)
    assert tuned["linear_probe"] is False
    moved = _features(
        torch.load(run / "finetune" / "concomitant_f1_e1_s0.pt", weights_only=False)["model"]
    )
    assert any(not torch.equal(before[k], moved[k]) for k in before if "running_mean" in k)
    assert any(not torch.equal(before[k], moved[k]) for k in before if k.endswith("weight"))


def test_linear_probe_resumes_exactly(tmp_path, searched, digits, monkeypatch):
    config = _probe(epochs=4, augment=True)
    full = finetune(_copy(searched, tmp_path / "full"), config, data=digits)
    cut = _copy(searched, tmp_path / "cut")
    save = finetune_module.save_torch

    def interrupted(path, payload):
        save(path, payload)
        if payload["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(finetune_module, "save_torch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        finetune(cut, config, data=digits)
    saved: list[int] = []

    def counted(path, payload):
        saved.append(payload["epoch"])
        save(path, payload)

    monkeypatch.setattr(finetune_module, "save_torch", counted)
    resumed = finetune(cut, config, data=digits)
    assert saved == [3, 4]  # it went on from the checkpoint of epoch 2
    assert not resumed.get("cached")
    assert resumed["test_accuracy"] == full["test_accuracy"]
    a = torch.load(tmp_path / "full" / "finetune" / f"{config.tag}.pt", weights_only=False)
    b = torch.load(cut / "finetune" / f"{config.tag}.pt", weights_only=False)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    # a finished probe is reused; the full fine-tune of the same settings is a separate run
    assert finetune(cut, config, data=digits)["cached"] is True
    recorded = FinetuneRun.of(cut).config(config.tag)
    assert recorded.linear_probe is True and recorded.identity() == config.identity()


def test_records_without_linear_probe_still_load(tmp_path, searched, digits):
    old = {
        "label_fraction": 0.5,
        "epochs": 1,
        "batch_size": 64,
        "lr": 0.025,
        "momentum": 0.9,
        "weight_decay": 3e-4,
        "init": "concomitant",
        "augment": False,
        "seed": 0,
        "pretrain_epochs": None,
    }
    config = FinetuneConfig.from_dict({**old, "added_later": 1})
    assert config.linear_probe is False and config.label_fraction == 0.5
    assert config.identity() == old  # so older checkpoints and results still match
    assert config.tag == "concomitant_f0.5_e1_s0"

    # a fine-tune recorded before results carried their config: read from the checkpoint
    run = _copy(searched, tmp_path / "run")
    finetune(run, config, data=digits)
    result_path = run / "finetune" / f"{config.tag}.json"
    record = json.loads(result_path.read_text())
    del record["config"], record["linear_probe"]
    result_path.write_text(json.dumps(record))
    loaded = FinetuneRun.of(run).config(config.tag)
    assert loaded.linear_probe is False
    assert loaded.identity() == old
    assert finetune(run, config, data=digits)["cached"] is True


def test_cli_linear_probe_flag(tmp_path, searched, capsys):
    from selfnas.cli import main

    run = _copy(searched, tmp_path / "run")
    argv = ["oneshot", "finetune", str(run), "--label-fraction", "0.1", "--epochs", "1"]
    argv += ["--linear-probe", "--device", "cpu", "--threads", "1", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["linear_probe"] is True and result["config"]["linear_probe"] is True
    assert (run / "finetune" / "concomitant_linear_f0.1_e1_s0.json").exists()
    assert result["config"]["lr"] == PROBE_LR  # the probe's own default, not the fine-tune's


def test_cli_finetune_keeps_its_lr_default(tmp_path, searched, capsys):
    from selfnas.cli import main

    run = _copy(searched, tmp_path / "run")
    argv = ["oneshot", "finetune", str(run), "--label-fraction", "0.1", "--epochs", "1"]
    argv += ["--device", "cpu", "--threads", "1", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["config"]["lr"] == FinetuneConfig().lr


def test_the_learning_rate_default_follows_the_mode_in_the_library_too():
    from selfnas.oneshot.finetune import FINETUNE_LR

    assert FinetuneConfig().lr == FINETUNE_LR
    assert FinetuneConfig(linear_probe=True).lr == PROBE_LR
    assert FinetuneConfig(linear_probe=True, lr=0.1).lr == 0.1
    # a recorded config names its lr, so the identity of older fine-tunes is unchanged
    old = FinetuneConfig.from_dict({"lr": 0.025, "init": "random"})
    assert old.identity()["lr"] == 0.025 and "linear_probe" not in old.identity()
