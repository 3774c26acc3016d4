"""Zero-cost proxies in the predictor: as features and as a label-free pretraining task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import shared_file
from selfnas.errors import InvalidOption
from selfnas.predictors.data import load_labelled
from selfnas.predictors.experiment import PredictSpec, run_seed
from selfnas.predictors.features import WithFeatures, proxy_features, quantiles, read_scores


def test_quantiles_are_ranks_in_the_unit_interval_and_nan_sits_in_the_middle():
    got = quantiles(np.array([10.0, -3.0, np.nan, 1e9, 10.0]))
    assert got[2] == 0.5
    assert got[1] < got[0] == got[4] < got[3]
    assert np.allclose(got[[1, 0, 4, 3]], [0.125, 0.5, 0.5, 0.875])


def test_features_slice_and_move_with_their_graphs():
    graphs = torch.arange(10).reshape(5, 2)
    batch = WithFeatures(graphs, torch.arange(5, dtype=torch.float32)[:, None])
    part = batch[np.array([4, 1])]
    assert part.graphs.tolist() == [[8, 9], [2, 3]] and part.features[:, 0].tolist() == [4, 1]
    assert len(batch[1:3]) == 2 and batch.to("cpu").features.dtype == torch.float32


@pytest.fixture(scope="module")
def labelled():
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    return load_labelled("nb201", "nb201", str(table))


@pytest.fixture(scope="module")
def oracle_scores(labelled, tmp_path_factory):
    """A proxy that is the test accuracy plus noise, and one that is pure noise."""
    rng = np.random.default_rng(0)
    texts = [labelled.space.format(a) for a in labelled.archs]
    frame = pd.DataFrame(
        {
            "arch": texts,
            "oracle": labelled.targets + rng.normal(0, 1.0, len(texts)),
            "noise": rng.normal(size=len(texts)),
        }
    )
    path = tmp_path_factory.mktemp("zc") / "scores.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _tau(spec: PredictSpec, labelled) -> float:
    return run_seed(spec, labelled, seed=0)["kendall_tau"]


def test_an_informative_feature_reaches_the_score_head(labelled, oracle_scores):
    base = PredictSpec(train_size=30, seeds=1, epochs=40, hidden=(64,))
    plain = _tau(base, labelled)
    informed = _tau(
        PredictSpec(**{**base.to_dict(), "proxies": ("oracle",), "scores": oracle_scores}),
        labelled,
    )
    assert informed > plain + 0.05


def test_pretraining_on_an_informative_proxy_helps_without_the_feature(labelled, oracle_scores):
    base = PredictSpec(train_size=30, seeds=1, epochs=40, hidden=(64,))
    plain = _tau(base, labelled)
    pretrained = _tau(
        PredictSpec(
            **{
                **base.to_dict(),
                "proxies": ("oracle",),
                "scores": oracle_scores,
                "proxy_features": False,
                "proxy_pretrain": 3,
            }
        ),
        labelled,
    )
    assert pretrained > plain + 0.03


def test_bad_proxy_options_are_clear_errors(labelled, oracle_scores, tmp_path):
    with pytest.raises(InvalidOption, match="--scores"):
        PredictSpec(proxies=("oracle",))
    with pytest.raises(InvalidOption, match="neither"):
        PredictSpec(proxies=("oracle",), scores=oracle_scores, proxy_features=False)
    scores = read_scores(oracle_scores)
    with pytest.raises(InvalidOption, match="not in the score table"):
        proxy_features(labelled.space, labelled.archs[:3], scores, ["synflow"])
    with pytest.raises(InvalidOption, match="lacks 1 of"):
        proxy_features(labelled.space, labelled.archs[:3], scores.iloc[1:], ["noise"])
    from selfnas.errors import DataNotFound

    with pytest.raises(DataNotFound, match="selfnas zc"):
        read_scores(tmp_path / "none.csv")
