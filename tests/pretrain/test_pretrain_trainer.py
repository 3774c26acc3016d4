"""The generic pretraining loop: checkpoints every epoch, exact resume, config checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from selfnas.errors import ResumeMismatch
from selfnas.pretrain.metrics import pretraining_protocol
from selfnas.pretrain.registry import get_objective
from selfnas.pretrain.trainer import CHECKPOINT, CONFIG, METRICS, Trainer, split_indices


@pytest.fixture(scope="module")
def data(space):
    return space.batch(space.sample(400, np.random.default_rng(5)))


def _trainer(space, data, out, epochs, config=None, **options):
    torch.manual_seed(123)  # the objective's initial weights
    obj = get_objective(
        "arch2vec", space, batch_size=64, encoder_opts={"hidden": 16, "layers": 2}, **options
    )
    return Trainer(
        obj,
        data,
        out,
        config or {"objective": "arch2vec"},
        epochs=epochs,
        seed=7,
        evaluate=pretraining_protocol(validity_samples=200),
    )


def test_split_is_fixed_by_seed_and_disjoint():
    a_train, a_held = split_indices(1000, 0.1, seed=3)
    _, b_held = split_indices(1000, 0.1, seed=3)
    assert np.array_equal(a_held, b_held) and len(a_held) == 100
    assert not set(a_train) & set(a_held) and len(a_train) + len(a_held) == 1000
    assert not np.array_equal(split_indices(1000, 0.1, seed=4)[1], a_held)


def _comparable(history):
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in history]


def test_resumed_run_ends_with_the_same_metrics(space, data, tmp_path):
    whole = _trainer(space, data, tmp_path / "whole", epochs=3).run()
    _trainer(space, data, tmp_path / "split", epochs=1).run()
    saved = json.loads((tmp_path / "split" / METRICS).read_text())
    assert [r["epoch"] for r in saved["history"]] == [1]
    resumed = _trainer(space, data, tmp_path / "split", epochs=3).run()
    assert _comparable(resumed.history) == _comparable(whole.history)
    assert {"reconstruction_accuracy", "validity", "uniqueness", "seconds"} <= set(whole.final)
    a = torch.load(tmp_path / "whole" / CHECKPOINT, weights_only=False)["model"]
    b = torch.load(tmp_path / "split" / CHECKPOINT, weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_loss_falls_over_epochs(space, data, tmp_path):
    result = _trainer(space, data, tmp_path / "run", epochs=3).run()
    losses = [r["train_loss"] for r in result.history]
    assert losses[-1] < losses[0]
    assert (tmp_path / "run" / CONFIG).exists()


def test_other_configuration_in_the_same_directory_is_refused(space, data, tmp_path):
    _trainer(space, data, tmp_path / "run", epochs=1).run()
    with pytest.raises(ResumeMismatch, match="objective"):
        _trainer(space, data, tmp_path / "run", epochs=2, config={"objective": "gae"}).run()


def test_finished_run_is_not_trained_again(space, data, tmp_path):
    first = _trainer(space, data, tmp_path / "run", epochs=1).run()
    again = _trainer(space, data, tmp_path / "run", epochs=1).run()
    assert again.history == first.history


@pytest.mark.parametrize("objective", ["arch2vec+margin", "locality"])
def test_steps_per_epoch_counts_grouped_batches(space, data, objective):
    """Grouped batches hold `batch/8` anchors each, so an epoch has ~8x more of them than
    `len(train) / batch` (the progress bar's total must say so)."""
    torch.manual_seed(0)
    if objective == "locality":
        obj = get_objective("locality", space, loss="margin", batch_size=32)
    else:
        obj = get_objective("arch2vec", space, loss="margin", batch_size=32)
    train = data[:90]
    counted = sum(1 for _ in obj.batches(train, np.random.default_rng(0), 0))
    assert obj.steps_per_epoch(len(train)) == counted == 23  # 90 anchors, 4 a batch (+1 of 2)


def test_plain_objective_steps_per_epoch_is_ceil(space, data):
    obj = get_objective("arch2vec", space, batch_size=64)
    assert obj.steps_per_epoch(len(data)) == sum(
        1 for _ in obj.batches(data, np.random.default_rng(0), 0)
    )


def test_run_saved_before_the_op_offset_resumes_as_it_was(space, data, tmp_path):
    """A checkpoint without the VGAE's op offset, resumed by today's default objective,
    continues exactly as the run without the offset would have."""
    whole = _trainer(space, data, tmp_path / "whole", epochs=2, op_bias=False).run()
    _trainer(space, data, tmp_path / "split", epochs=1, op_bias=False).run()
    resumed = _trainer(space, data, tmp_path / "split", epochs=2).run()
    assert _comparable(resumed.history) == _comparable(whole.history)
