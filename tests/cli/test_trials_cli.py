"""`selfnas search|compare --benchmark train`: every query trains a real NB201 network."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from selfnas.cli import main
from selfnas.trials.store import DONE, FAILED, TrialStore

#: a small NB201 network (4 channels, 1 cell per stage) on scikit-learn's 8x8 digits
TINY = ["--benchmark", "train", "--space", "nb201", "--dataset", "digits"]
TINY += ["--channels", "4", "--cells", "1", "--epochs", "1", "--seeds", "1"]
TINY += ["--recipe-option", "batch_size=32"]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from selfnas.trials.backends import connect_ray

    connect_ray(None, num_cpus=2)
    yield
    ray.shutdown()


def test_search_on_ray_trains_six_networks(tmp_path, capsys, local_ray):
    trials, out = tmp_path / "trials", tmp_path / "run"
    args = ["search", *TINY, "--strategy", "random", "--budget", "6", "--backend", "ray"]
    assert main([*args, "--trials", str(trials), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 6 and rows["arch"].nunique() == 6
    assert rows["value"].between(0, 100).all() and rows["test"].between(0, 100).all()
    assert rows["value"].max() > 30, "no network learned anything (chance is 10 %)"
    stored = TrialStore(trials).all()
    assert len(stored) == 6 and all(t.status == DONE and t.attempts == 1 for t in stored)
    assert all(t.metrics["params"] > 1000 and t.seconds > 0 for t in stored)
    assert summary["seeds"] == 1 and summary["mean_test"] > 20


def test_compare_runs_its_seeds_as_ray_tasks(tmp_path, capsys, local_ray):
    trials, out = tmp_path / "trials", tmp_path / "cmp"
    args = ["compare", *TINY, "--strategies", "random,re", "--budget", "3", "--backend", "ray"]
    assert main([*args, "--trials", str(trials), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"random", "re"}
    rows = pd.read_parquet(out / "results.parquet")
    assert rows.groupby("strategy").size().to_dict() == {"random": 3, "re": 3}
    # both strategies start from the same seed's random draws: one trial serves both
    assert len(TrialStore(trials).all()) == rows["arch"].nunique()


def test_killed_driver_rerun_retrains_nothing_finished(tmp_path):
    trials, out = tmp_path / "trials", tmp_path / "run"
    args = ["search", *TINY, "--strategy", "random", "--budget", "8", "--workers", "1"]
    args += ["--epochs", "3", "--trials", str(trials), "--out", str(out), "--json"]
    env = {**os.environ, "SELFNAS_THREADS": "1"}
    driver = subprocess.Popen(
        [sys.executable, "-m", "selfnas", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = TrialStore(trials)
    deadline = time.monotonic() + 240
    while sum(t.status == DONE for t in store.all()) < 3:
        assert driver.poll() is None, "the search ended before it could be killed"
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = {t.arch: t for t in store.all() if t.status == DONE}
    assert 3 <= len(before) < 8

    assert main(args) == 0
    after = {t.arch: t for t in store.all()}
    assert len(after) == 8 and all(t.status == DONE for t in after.values())
    for arch, trial in before.items():
        assert after[arch].attempts == 1 and after[arch].finished_at == trial.finished_at
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 8 and set(rows["arch"]) == {t.arch_key for t in after.values()}


def test_a_diverging_trial_is_recorded_as_failed(tmp_path, capsys):
    trials, out = tmp_path / "trials", tmp_path / "run"
    args = ["search", *TINY, "--strategy", "random", "--budget", "2", "--workers", "1"]
    args += ["--recipe-option", "lr=1e30", "--max-attempts", "2"]
    assert main([*args, "--trials", str(trials), "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    stored = TrialStore(trials).all()
    assert len(stored) == 2 and all(t.status == FAILED and t.attempts == 2 for t in stored)
    assert all(r.startswith("TrainingFailed: loss became nan") for t in stored for r in t.reasons)
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 2 and (rows["value"] == 0).all()


def test_training_options_without_the_train_benchmark_are_refused(tmp_path, capsys):
    args = ["search", "--benchmark", "nbgraph", "--strategy", "random", "--budget", "2"]
    assert main([*args, "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "--benchmark train" in capsys.readouterr().err


def test_a_space_without_a_network_is_refused(tmp_path, capsys):
    args = ["search", "--benchmark", "train", "--space", "nbgraph", "--strategy", "random"]
    assert main([*args, "--budget", "2", "--out", str(tmp_path)]) == 2
    assert "no network builder" in capsys.readouterr().err
