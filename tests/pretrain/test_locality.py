"""Locality-based metric learning: Table 3 configs, metric term, grouped sampler, objective."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from pytorch_metric_learning import losses, miners

from conftest import assert_resume_is_exact
from selfnas.errors import InvalidOption
from selfnas.pretrain import objective as objective_api
from selfnas.pretrain.locality import (
    OBJECTIVES,
    GroupedSampler,
    LocalityObjective,
    MetricTerm,
    metric_term,
)
from selfnas.pretrain.locality_losses import METRIC_LOSSES, metric_loss_config

TABLE_3 = {  # loss: (miner, batch size, lambda_e)
    "AngularLoss": ("AngularMiner", 256, 0.1),
    "ContrastiveLoss": ("TripletMarginMiner", 512, 1.0),
    "GeneralizedLiftedStructureLoss": ("TripletMarginMiner", 512, 0.1),
    "LiftedStructureLoss": ("TripletMarginMiner", 64, 0.05),
    "MarginLoss": ("TripletMarginMiner", 512, 1.0),
    "MultiSimilarityLoss": ("AngularMiner", 512, 1.0),
    "NPairsLoss": ("AngularMiner", 512, 1.0),
    "TripletMarginLoss": ("TripletMarginMiner", 512, 1.0),
}


pytestmark = pytest.mark.usefixtures("one_thread")


def _clusters(groups: int = 6, size: int = 8, spread: float = 0.05, seed: int = 0):
    """Unit embeddings in tight, well-separated clusters, with their group labels."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(groups, 16, generator=g), dim=-1)
    emb = centres.repeat_interleave(size, 0) + spread * torch.randn(groups * size, 16, generator=g)
    labels = torch.arange(groups).repeat_interleave(size)
    return torch.nn.functional.normalize(emb, dim=-1), labels


def test_table_3_rows(space) -> None:
    assert set(METRIC_LOSSES) == set(TABLE_3) | {"NoMetricLoss"}
    for name, (miner, batch, lam) in TABLE_3.items():
        cfg = METRIC_LOSSES[name]
        assert (cfg.miner, cfg.batch_size, cfg.lambda_e) == (miner, batch, lam), name
        assert isinstance(cfg.build_loss(), getattr(losses, name))
        assert isinstance(cfg.build_miner(), getattr(miners, miner))
    margin = METRIC_LOSSES["MarginLoss"].build_loss()
    assert (margin.margin, margin.nu) == (0.2, 0.0)
    assert float(margin.beta) == pytest.approx(1.2) and not margin.learn_beta
    assert METRIC_LOSSES["MarginLoss"].miner_kwargs == {
        "margin": 0.2,
        "type_of_triplets": "semihard",
    }
    assert METRIC_LOSSES["AngularLoss"].loss_kwargs == {"alpha": 45}
    assert METRIC_LOSSES["MultiSimilarityLoss"].loss_kwargs == {"alpha": 2, "beta": 30, "base": 1}
    assert METRIC_LOSSES["TripletMarginLoss"].build_loss().margin == 0.1
    assert METRIC_LOSSES["NoMetricLoss"].build_loss() is None


def test_names_aliases_and_unknown(space) -> None:
    assert metric_loss_config("margin") is METRIC_LOSSES["MarginLoss"]
    assert metric_loss_config("npairsloss") is METRIC_LOSSES["NPairsLoss"]
    with pytest.raises(InvalidOption, match="MarginLoss") as err:
        metric_loss_config("arcface")
    assert "NoMetricLoss" in str(err.value)
    with pytest.raises(InvalidOption):
        OBJECTIVES["locality"](space, loss="nope")


@pytest.mark.parametrize("name", sorted(TABLE_3))
def test_every_loss_is_finite_weighted_and_differentiable(name: str) -> None:
    emb, labels = _clusters(spread=0.6, seed=1)
    emb.requires_grad_(True)
    term = MetricTerm(name)
    out = term(emb, labels)
    assert out.dim() == 0 and torch.isfinite(out)
    assert out.item() == pytest.approx(term.lambda_e * term.unweighted(emb, labels).item())
    out.backward()
    assert torch.isfinite(emb.grad).all()


@pytest.mark.parametrize("name", ["MarginLoss", "TripletMarginLoss", "MultiSimilarityLoss"])
def test_loss_prefers_true_groups_to_shuffled_ones(name: str) -> None:
    emb, labels = _clusters()
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    term = MetricTerm(name)
    assert term.unweighted(emb, labels) < term.unweighted(emb, shuffled)


def test_no_metric_loss_is_a_zero_with_a_graph() -> None:
    emb, labels = _clusters()
    emb.requires_grad_(True)
    out = MetricTerm("none")(emb, labels)
    assert out.item() == 0.0 and out.requires_grad


def test_lambda_override() -> None:
    assert MetricTerm("angular", lambda_e=0.5).lambda_e == 0.5
    assert MetricTerm("angular").lambda_e == 0.1


def test_sampler_groups_are_local_and_reproducible(space) -> None:
    sampler = GroupedSampler(space)
    anchors = space.sample(6, np.random.default_rng(0))
    batch = sampler.make_batch(anchors, np.random.default_rng(1))
    again = sampler.make_batch(anchors, np.random.default_rng(1))
    assert torch.equal(batch.archs.ops, again.archs.ops)
    assert len(batch) == 48 and batch.labels.tolist() == [g for g in range(6) for _ in range(8)]
    assert batch.num_groups == 6
    groups = [sampler.group(a, np.random.default_rng(i)) for i, a in enumerate(anchors)]
    edits = []
    for anchor, group in zip(anchors, groups, strict=True):
        assert group[0] == anchor
        edits += [space.edit_distance(anchor, p) for p in group[1:]]
        assert all(space.edit_distance(a, b) <= 6 for a, b in itertools.combinations(group, 2))
    assert set(edits) <= {1, 2, 3} and len(set(edits)) > 1


def test_sampler_epoch_uses_every_anchor_once(space) -> None:
    sampler = GroupedSampler(space, group_size=4)
    archs = space.sample(22, np.random.default_rng(0))
    batches = list(sampler.batches(space.batch(archs), np.random.default_rng(0), 5))
    assert [b.num_groups for b in batches] == [5, 5, 5, 5, 2]
    anchors = torch.cat([b.archs.ops[:: b.group_size] for b in batches])
    assert sorted(map(tuple, anchors.tolist())) == sorted(
        map(tuple, space.batch(archs).ops.tolist())
    )
    with pytest.raises(InvalidOption, match="anchors"):
        next(sampler.batches(archs, np.random.default_rng(0), 1))


def test_metric_term_serves_other_objectives(space) -> None:
    term = metric_term(space, loss="margin")
    assert isinstance(term, objective_api.MetricTerm)
    train = space.batch(space.sample(12, np.random.default_rng(0)))
    archs, labels = next(term.batches(train, np.random.default_rng(0), 0, 32))
    assert len(archs) == 32 and labels.tolist() == [g for g in range(4) for _ in range(8)]


def test_objective_defaults_follow_the_loss(space) -> None:
    torch.manual_seed(0)
    obj = OBJECTIVES["locality"](space, loss="lifted")
    assert isinstance(obj, LocalityObjective)
    assert obj.batch_size == 64 and obj.metric.lambda_e == 0.05
    with pytest.raises(InvalidOption, match="multiple"):
        OBJECTIVES["locality"](space, batch_size=60)


def _margin_after_training(space, loss: str) -> tuple[float, float]:
    """MarginLoss of a fixed grouped batch before and after 30 steps with `loss`."""
    torch.manual_seed(0)
    obj = OBJECTIVES["locality"](space, loss=loss, batch_size=64)
    opt, _ = obj.configure_optimizer(1)
    anchors = space.sample(8, np.random.default_rng(0))
    batch = obj.sampler.make_batch(anchors, np.random.default_rng(0))
    judge = MetricTerm("margin")
    before = float(judge.unweighted(obj.embed(batch.archs), batch.labels))
    for _ in range(30):
        opt.zero_grad()
        loss_value, _ = obj.loss(batch)
        loss_value.backward()
        opt.step()
    return before, float(judge.unweighted(obj.embed(batch.archs), batch.labels))


def test_metric_term_pulls_groups_together_reconstruction_alone_does_not(space) -> None:
    before, with_metric = _margin_after_training(space, "margin")
    same_start, without = _margin_after_training(space, "none")
    assert before == pytest.approx(same_start)
    assert with_metric < 0.9 * before
    assert without > 0.97 * before


def test_resumed_run_matches_uninterrupted(space, tmp_path) -> None:
    def build() -> LocalityObjective:
        return OBJECTIVES["locality"](space, loss="margin", batch_size=32)

    assert_resume_is_exact(space, tmp_path, "locality", build, samples=40, seed=0)
