"""The row-wise TripletMarginMiner returns exactly pml's triplets, in pml's order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
from pytorch_metric_learning.losses import MarginLoss
from pytorch_metric_learning.miners import TripletMarginMiner

from selfnas.pretrain.locality import GroupedSampler
from selfnas.pretrain.nao import NAOController
from selfnas.pretrain.triplet_miner import RowwiseTripletMarginMiner
from selfnas.spaces import get_space


@pytest.mark.parametrize("kind", ["semihard", "hard", "all", "easy"])
@pytest.mark.parametrize("distance", [LpDistance, CosineSimilarity])
def test_same_triplets_as_pml_on_locality_batches(kind: str, distance) -> None:
    """Embeddings of a real grouped NB201 batch (anchors + edited positives) from an
    untrained NAO encoder: both miners must give identical index tensors."""
    torch.manual_seed(0)
    space = get_space("nb201")
    sampler = GroupedSampler(space)
    rng = np.random.default_rng(0)
    batch = sampler.make_batch(space.sample(32, rng), rng)
    with torch.no_grad():
        _, emb = NAOController(space).encode(batch.archs)
    margin = 0.0 if kind == "easy" else 0.2  # untrained: few triplets clear a 0.2 margin
    reference = TripletMarginMiner(margin=margin, type_of_triplets=kind, distance=distance())
    fast = RowwiseTripletMarginMiner(margin=margin, type_of_triplets=kind, distance=distance())
    expected = reference(emb, batch.labels)
    got = fast(emb, batch.labels)
    assert len(expected[0]) > 0
    for want, have in zip(expected, got, strict=True):
        assert torch.equal(want, have)


def test_margin_loss_and_gradient_unchanged() -> None:
    torch.manual_seed(1)
    emb = torch.nn.functional.normalize(torch.randn(64, 16), dim=1).requires_grad_(True)
    labels = torch.arange(8).repeat_interleave(8)
    grads = []
    for miner in (TripletMarginMiner, RowwiseTripletMarginMiner):
        loss_fn = MarginLoss(margin=0.2, nu=0.0, beta=1.2, triplets_per_anchor="all")
        tuples = miner(margin=0.2, type_of_triplets="semihard")(emb, labels)
        loss = loss_fn(emb, labels, tuples)
        (grad,) = torch.autograd.grad(loss, emb)
        grads.append((float(loss), grad))
    assert grads[0][0] == grads[1][0] > 0
    assert torch.equal(grads[0][1], grads[1][1])


def test_statistics_match_pml() -> None:
    torch.manual_seed(2)
    emb = torch.nn.functional.normalize(torch.randn(48, 8), dim=1)
    labels = torch.arange(6).repeat_interleave(8)
    stats = []
    for miner_cls in (TripletMarginMiner, RowwiseTripletMarginMiner):
        miner = miner_cls(margin=0.2, type_of_triplets="semihard", collect_stats=True)
        miner(emb, labels)
        stats.append((miner.pos_pair_dist, miner.neg_pair_dist, miner.avg_triplet_margin))
    assert stats[1] == pytest.approx(stats[0], rel=1e-5)
