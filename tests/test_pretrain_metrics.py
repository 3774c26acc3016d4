"""Pretraining metrics on real NB201 cells with objectives whose answers we know."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.pretrain.metrics import locality, reconstruction_accuracy, validity_uniqueness
from selfnas.pretrain.objective import Reconstruction
from selfnas.spaces import get_space
from selfnas.spaces.batch import ArchBatch


class _Oracle(torch.nn.Module):
    """Reconstructs perfectly except the cells listed in `wrong`; decodes latents that are
    the node-form graphs themselves; embeds a cell as the one-hot of its ops."""

    def __init__(self, space, wrong=()):
        super().__init__()
        self.space = space
        self.wrong = set(wrong)

    def reconstruct(self, archs: ArchBatch) -> Reconstruction:
        ops = archs.ops.clone()
        for i in self.wrong:
            if i < len(ops):
                ops[i, 1] = (ops[i, 1] + 1) % 5 + 1
        return Reconstruction(adj=archs.adj.clone(), ops=ops)

    def sample_decode(self, z: torch.Tensor) -> Reconstruction:
        return Reconstruction(adj=z[..., :8].round(), ops=z[..., 8].round().long())

    def embed(self, archs: ArchBatch) -> torch.Tensor:
        return archs.one_hot_ops().flatten(1)


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


@pytest.fixture(scope="module")
def cells(space):
    return space.batch(space.sample(200, np.random.default_rng(0)))


def test_reconstruction_counts_whole_archs(space, cells):
    assert reconstruction_accuracy(_Oracle(space), cells, 64)["reconstruction_accuracy"] == 1.0
    acc = reconstruction_accuracy(_Oracle(space, wrong=range(50)), cells)
    assert acc["reconstruction_accuracy"] == pytest.approx(0.75)
    assert acc["ops_accuracy"] == pytest.approx(1 - 0.25 / 8)
    assert acc["adj_accuracy"] == 1.0


def test_validity_and_uniqueness_follow_the_space_rules(space, cells):
    # latents = the graphs themselves with no spread: every sample is the mean graph
    lat = torch.cat([cells.adj, cells.ops.unsqueeze(-1).float()], dim=-1)
    same = lat[:1].expand(50, -1, -1)
    res = validity_uniqueness(_Oracle(space), space, same, np.random.default_rng(0), samples=100)
    assert res == {"validity": 1.0, "uniqueness": pytest.approx(1 / 100)}
    # flip one edge of the fixed NB201 adjacency: nothing is valid any more
    broken = same.clone()
    broken[:, 0, 7] = 1.0
    res = validity_uniqueness(_Oracle(space), space, broken, np.random.default_rng(0), samples=20)
    assert res["validity"] == 0.0 and res["uniqueness"] == 0.0


def test_locality_of_an_edit_aware_embedding(space):
    res = locality(_Oracle(space), space, np.random.default_rng(0), steps=120, max_offset=4)
    assert len(res.l2) == len(res.edit) == sum(120 - k for k in range(1, 5))
    assert set(np.unique(res.edit)) <= {0, 1, 2, 3, 4}
    # one-hot ops: L2 = sqrt(2 * edits) exactly, so the ranking is perfect
    assert res.spearman > 0.95
    assert res.auc > 0.95


def test_nb101_also_reports_the_published_unpruned_count():
    """Draws that decode to one NB101 cell through two different stray-vertex ops: one
    canonical cell, two decoded graphs (the published code's count)."""
    nb101 = get_space("nb101")
    adj = torch.zeros(7, 7)
    for i, j in ((0, 1), (1, 4), (0, 3), (3, 4), (0, 2)):
        adj[i, j] = 1.0
    ops = torch.tensor([[0, 2, 1, 2, 4, -1, -1], [0, 2, 3, 2, 4, -1, -1]])

    class _TwoDecodes(torch.nn.Module):
        def sample_decode(self, z: torch.Tensor) -> Reconstruction:
            n = z.shape[0]
            return Reconstruction(adj=adj.expand(n, 7, 7), ops=ops[torch.arange(n) % 2])

    lat = torch.zeros(10, 7, 4)
    res = validity_uniqueness(_TwoDecodes(), nb101, lat, np.random.default_rng(0), samples=40)
    assert res == {
        "validity": 1.0,
        "uniqueness": pytest.approx(1 / 40),
        "uniqueness_unpruned": pytest.approx(2 / 40),
    }
