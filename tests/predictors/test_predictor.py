"""End-to-end predictor runs on real NB201 data, the CLI, and pretrained initialisation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import shared_file
from selfnas.cli import main
from selfnas.errors import InvalidOption
from selfnas.predictors.experiment import (
    PredictSpec,
    build_encoder,
    load_pretrained,
    run,
    train_size_of,
)

TABLE = "nb201/nb201_200ep_cifar10.csv"


@pytest.fixture(scope="module")
def nb201():
    from selfnas.predictors.data import load_labelled

    return load_labelled("nb201", "nb201", table=str(shared_file(TABLE)))


def test_split_is_fixed_and_disjoint(nb201):
    pool, held = nb201.split()
    pool2, held2 = nb201.split()
    assert np.array_equal(held, held2) and np.array_equal(pool, pool2)
    assert len(held) == 1562 and len(pool) + len(held) == 15625
    assert not set(pool.tolist()) & set(held.tolist())


def test_gates_hinge_learns_to_rank_and_is_deterministic(nb201):
    # the default GATES encoder with a small head (the 3 x 300 head dominates the cost)
    spec = PredictSpec(
        encoder="gates", loss="hinge", train_size=64, seeds=1, epochs=25, hidden=(64,)
    )
    first = run(spec, nb201)
    again = run(spec, nb201)
    assert first["per_seed"][0]["kendall_tau"] == again["per_seed"][0]["kendall_tau"]
    # a trained ranker is far from chance on 15,561 unseen archs (measured: 0.71)
    assert first["kendall_tau"] > 0.6
    assert first["per_seed"][0]["heldout"]["kendall_tau"] > 0.6
    untrained = run(replace(spec, epochs=1), nb201)
    assert first["kendall_tau"] > untrained["kendall_tau"]


@pytest.mark.parametrize("loss", ["mse", "bce", "comparator", "listmle"])
def test_every_loss_runs_end_to_end(nb201, loss):
    # a small head keeps the comparator's ranking (15,625 archs x 8 references) cheap
    spec = PredictSpec(encoder="gates", loss=loss, train_size=48, seeds=1, epochs=15, hidden=(64,))
    result = run(spec, nb201)
    assert np.isfinite(result["kendall_tau"]) and result["kendall_tau"] > 0.1
    assert 1 <= result["n_at_5"] <= 15625


def test_cli_predict_json(nb201, capsys):
    status = main(
        [
            "predict", "--space", "nb201", "--benchmark", "nb201",
            "--table", str(shared_file(TABLE)), "--metric", "cifar10_test",
            "--encoder", "gates", "--loss", "hinge", "--train-size", "40",
            "--seeds", "2", "--epochs", "5", "--json",
        ]
    )  # fmt: skip
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("kendall_tau", "spearman", "n_at_5", "n_at_10"):
        assert isinstance(out[key], float)
    assert len(out["per_seed"]) == 2
    assert out["n_at_5"] == pytest.approx(np.mean([r["n_at_5"] for r in out["per_seed"]]))


def test_cli_rejects_bad_options(capsys):
    assert main(["predict", "--train-size", "10", "--loss", "hinge", "--encoder", "nope",
                 "--table", "/no/such.csv"]) == 2  # fmt: skip
    assert "error:" in capsys.readouterr().err


def test_train_size_of():
    assert train_size_of(15625, None, 0.01) == 156
    assert train_size_of(15625, None, 0.005) == 78
    assert train_size_of(15625, 100, None) == 100
    with pytest.raises(InvalidOption):
        train_size_of(15625, 10, 0.1)
    with pytest.raises(InvalidOption):
        train_size_of(15625, None, 1.5)


def test_pretrained_weights_are_loaded(nb201, tmp_path):
    torch.manual_seed(1)
    source = build_encoder("gates", nb201.space)
    torch.save({"model": {f"encoder.{k}": v for k, v in source.state_dict().items()}},
               tmp_path / "checkpoint.pt")  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"encoder": "gates", "encoder_opts": {}}))
    torch.manual_seed(2)
    target = build_encoder("gates", nb201.space)
    load_pretrained(target, tmp_path)
    for name, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[name], value)
    # a checkpoint of another configuration is refused with a clear message
    other = build_encoder("gates", nb201.space, layers=[64, 64])
    with pytest.raises(InvalidOption, match="another encoder configuration"):
        load_pretrained(other, tmp_path)
    # and the experiment runs from it (frozen encoder: its weights do not move)
    spec = PredictSpec(train_size=32, seeds=1, epochs=3, pretrained=str(tmp_path), freeze=True)
    assert np.isfinite(run(spec, nb201)["kendall_tau"])


def test_an_ensemble_averages_its_members_as_quantiles_and_ranks_better(nb201):
    from selfnas.predictors.experiment import _mean_quantile

    same_order = _mean_quantile([np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 300.0])])
    assert same_order.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])  # scale does not matter
    opposed = _mean_quantile([np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])])
    assert opposed.tolist() == pytest.approx([2 / 3] * 3)

    spec = PredictSpec(train_size=48, seeds=1, epochs=15, hidden=(64,))
    single = run(spec, nb201)["per_seed"][0]["kendall_tau"]
    ensemble = replace(spec, ensemble=4)
    four = run(ensemble, nb201)["per_seed"][0]["kendall_tau"]
    assert four == run(ensemble, nb201)["per_seed"][0]["kendall_tau"]  # deterministic
    assert four > single  # members differ; averaging four cuts their noise (0.712 vs 0.698)
    assert ensemble.label.endswith("/ensemble=4")
    with pytest.raises(InvalidOption, match="ensemble"):
        replace(spec, ensemble=0)
