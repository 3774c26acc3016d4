"""`selfnas reproduce locality-table1`: a resumed or repeated run redoes no finished
pretraining or search seed (the full mode is hours of CPU), and reports the same numbers."""

from __future__ import annotations

import pandas as pd

from conftest import shared_file
from selfnas.cli import main
from selfnas.pretrain.trainer import Trainer
from selfnas.runs import RunDir
from selfnas.search import runner


def test_locality_table1_rerun_redoes_nothing_finished(tmp_path, capsys, monkeypatch):
    shared_file("nb201/nb201_200ep_cifar10.csv")
    out = tmp_path / "loc"
    args = ["reproduce", "locality-table1", "--out", str(out), "--quick", "--workers", "1"]
    assert main([*args, "--json"]) == 0
    capsys.readouterr()
    first = pd.read_csv(out / "results.csv")
    assert {"MarginLoss", "NoMetricLoss", "Random"} <= set(first["row"])

    epochs: list[int] = []
    searched: list[tuple[str, str, int]] = []
    real_epoch, real_task = Trainer.train_epoch, runner._run_task

    def counting_epoch(self, epoch):
        epochs.append(epoch)
        return real_epoch(self, epoch)

    def counting_task(spec, task, options, budget, root):
        searched.append((str(root), task.strategy, task.seed))
        return real_task(spec, task, options, budget, root)

    monkeypatch.setattr(Trainer, "train_epoch", counting_epoch)
    monkeypatch.setattr(runner, "_run_task", counting_task)

    # a seed lost (as if the run stopped during it) is searched again, nothing else is
    lost = RunDir(out / "search" / "none").seed_path("nao", 0)
    assert lost.is_file()
    lost.unlink()
    assert main([*args, "--json"]) == 0
    capsys.readouterr()
    assert epochs == []
    assert searched == [(str(out / "search" / "none"), "nao", 0)]
    pd.testing.assert_frame_equal(first, pd.read_csv(out / "results.csv"))

    # a finished run repeated: no pretraining epoch, no search seed, the same report
    searched.clear()
    assert main([*args, "--json"]) == 0
    capsys.readouterr()
    assert epochs == [] and searched == []
    pd.testing.assert_frame_equal(first, pd.read_csv(out / "results.csv"))
    assert "over 3 invocations" in (out / "report.md").read_text()
