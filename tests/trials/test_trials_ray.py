"""Trials as Ray tasks on a local Ray instance (started here on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import selfnas
from selfnas.trials.store import DONE, TrialStore

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from selfnas.trials.backends import connect_ray

    connect_ray(None, num_cpus=2)
    yield
    ray.shutdown()


def conv_score(cell) -> float:
    return float(sum(op == "nor_conv_3x3" for op in cell.ops))


def worker_pid(cell) -> dict[str, float]:
    return {"score": conv_score(cell), "pid": float(os.getpid())}


class KillOnce:
    """Kills the worker process running it (SIGKILL, mid-trial) the first time it sees a
    cell whose first op is a 3x3 convolution; a marker file remembers it did."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self, cell) -> float:
        if cell.ops[0] == "nor_conv_3x3" and not self.marker.exists():
            self.marker.write_text(str(cell))
            os.kill(os.getpid(), signal.SIGKILL)
        return conv_score(cell)


def test_trials_run_as_ray_tasks_in_other_processes(tmp_path):
    result = selfnas.optimize(
        worker_pid, strategy="random", budget=6, out=tmp_path, backend="ray", seed=1
    )
    trials = TrialStore(tmp_path / "trials").all()
    assert len(result.history) == 6
    assert len(trials) == 6 and all(t.status == DONE for t in trials)
    pids = {t.metrics["pid"] for t in trials}
    assert os.getpid() not in pids


def test_a_killed_worker_is_retried(tmp_path):
    marker = tmp_path / "killed"
    result = selfnas.optimize(
        KillOnce(marker),
        strategy="random",
        budget=40,
        out=tmp_path / "run",
        backend="ray",
        seed=2,
        name="kill-once",
    )
    assert marker.exists(), "the seed should draw a cell that starts with a 3x3 conv"
    killed = marker.read_text()
    trial = {t.arch: t for t in TrialStore(tmp_path / "run" / "trials").all()}[killed]
    assert trial.status == DONE and trial.attempts == 2
    assert len(trial.reasons) == 1 and "Worker" in trial.reasons[0]
    assert len(result.history) == 40


def test_asking_for_more_gpus_than_the_cluster_has_is_a_clear_error(tmp_path):
    from selfnas.errors import InvalidOption

    with pytest.raises(InvalidOption, match="GPU"):
        selfnas.optimize(conv_score, budget=2, backend="ray", gpus_per_trial=1)
