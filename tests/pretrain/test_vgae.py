"""The arch2vec VGAE objective on real NB201 cells: loss parts, eval/train discipline,
decoding, the optional metric term, and a short pretraining that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.pretrain.objective import MetricTerm, Objective
from selfnas.pretrain.registry import get_objective
from selfnas.pretrain.vgae import VGAE
from selfnas.spaces import get_space
from selfnas.spaces.batch import PAD, ArchBatch


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


@pytest.fixture(scope="module")
def cells(space) -> ArchBatch:
    return space.batch(space.sample(48, np.random.default_rng(0)))


def _small(space, **opts) -> VGAE:
    torch.manual_seed(0)
    return get_objective("arch2vec", space, encoder_opts={"hidden": 32}, **opts)


def test_loss_has_reconstruction_and_kl_parts(space, cells):
    obj = _small(space)
    loss, parts = obj.loss((cells, None))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(parts) == {"ops", "adj", "kl", "loss"}
    assert parts["kl"] > 0
    assert parts["loss"] == pytest.approx(
        parts["ops"] + parts["adj"] + obj.kl_weight * parts["kl"], rel=1e-5
    )


def test_gae_has_no_kl_and_no_sampling(space, cells):
    torch.manual_seed(0)
    gae = get_objective("gae", space, dropout=0.0)
    _, parts = gae.loss((cells, None))
    assert "kl" not in parts
    # without noise or dropout two passes give the same loss
    assert gae.loss((cells, None))[1]["loss"] == pytest.approx(parts["loss"])


def test_embed_and_latents_restore_training_mode(space, cells):
    obj = _small(space)
    obj.train()
    emb = obj.embed(cells)
    lat = obj.latents(cells)
    assert obj.training, "metrics must not leave the model in eval mode"
    assert emb.shape == (48, 16) and lat.shape == (48, 8, 16)
    torch.testing.assert_close(emb, lat.mean(1))
    # deterministic: no sampling noise or dropout in embeddings
    torch.testing.assert_close(obj.embed(cells), emb)


def test_reconstruct_and_sample_decode_give_node_form_graphs(space, cells):
    obj = _small(space)
    rec = obj.reconstruct(cells)
    assert rec.adj.shape == (48, 8, 8) and rec.ops.shape == (48, 8)
    assert torch.equal(rec.adj, rec.adj.triu(1))
    assert ((rec.ops >= 0) & (rec.ops < len(space.node_ops)) | (rec.ops == PAD)).all()
    dec = obj.sample_decode(torch.randn(5, 8, 16))
    assert dec.adj.shape == (5, 8, 8)


class _PullTogether(torch.nn.Module):
    """A toy metric term: groups of 2 (a cell and itself), loss = spread within groups."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def batches(self, train, rng, epoch, batch_size):
        order = rng.permutation(len(train))[: batch_size // 2]
        idx = np.repeat(order, 2)
        yield train[idx], torch.arange(len(order)).repeat_interleave(2)

    def forward(self, embeddings, labels):
        self.calls += 1
        return 0.1 * embeddings.var(0).sum()


def test_optional_metric_term_plugs_into_the_loss(space, cells):
    term = _PullTogether()
    assert isinstance(term, MetricTerm)
    obj = _small(space, batch_size=16)
    obj.metric = term
    batch = next(obj.batches(cells, np.random.default_rng(0), 0))
    assert len(batch[0]) == 16 and batch[1] is not None
    _, parts = obj.loss(batch)
    assert "metric" in parts and term.calls == 1


def test_locality_metric_term_from_part_b(space, cells):
    pytest.importorskip("selfnas.pretrain.locality")
    torch.manual_seed(0)
    obj = get_objective(
        "arch2vec", space, loss="MarginLoss", batch_size=32, encoder_opts={"hidden": 32}
    )
    batch = next(obj.batches(cells, np.random.default_rng(0), 0))
    archs, labels = batch
    assert len(archs) == 32 and len(torch.unique(labels)) == 4
    loss, parts = obj.loss(batch)
    assert "metric" in parts and torch.isfinite(loss)
    loss.backward()


def test_short_pretraining_learns_nb201(space):
    """282 steps on 3,000 cells: the loss falls and held-out cells come back exactly."""
    rng = np.random.default_rng(0)
    data = space.batch(space.sample(3_500, rng))
    train, held = data[:3000], data[3000:]
    torch.manual_seed(0)
    obj: Objective = get_objective("arch2vec", space, batch_size=32, lr=2e-3)
    opt, _ = obj.configure_optimizer(0)
    first = last = None
    for epoch in range(3):
        for batch in obj.batches(train, np.random.default_rng(epoch), epoch):
            opt.zero_grad()
            loss, parts = obj.loss(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(obj.parameters(), 5.0)
            opt.step()
            first = parts["loss"] if first is None else first
            last = parts["loss"]
    assert last < 0.3 * first
    from selfnas.pretrain.metrics import reconstruction_accuracy

    acc = reconstruction_accuracy(obj, held)
    # measured: 0.304 exact, 0.989 of ops, 0.969 of edges (untrained: 0 exact)
    assert acc["ops_accuracy"] > 0.95
    assert acc["adj_accuracy"] > 0.95
    assert acc["reconstruction_accuracy"] >= 0.25


def test_per_vertex_op_offset_is_added_to_every_graph(space, cells):
    obj = _small(space)
    v = cells.num_vertices
    assert obj.op_bias is not None and tuple(obj.op_bias.shape) == (v, obj.num_ops + 1)
    obj.eval()
    with torch.no_grad():
        obj.op_bias.zero_()
        obj.op_bias[0, 2] = 1e4  # vertex 0 must decode to op 2 whatever its latent
        z = torch.randn(5, v, obj.latent)
        op_logits, _ = obj.decode_logits(z)
    assert (op_logits[:, 0].argmax(-1) == 2).all()
    assert _small(space, op_bias=False).op_bias is None


def test_runs_saved_without_the_op_offset_load_as_trained(space, cells):
    """A checkpoint of a model without the offset loads into today's default and decodes
    exactly as the model it was saved from."""
    old = _small(space, op_bias=False).eval()
    new = _small(space)
    new.load_state_dict(old.state_dict())
    assert new.op_bias is None
    new.eval()
    with torch.no_grad():
        z = torch.randn(4, cells.num_vertices, old.latent)
        for a, b in zip(old.decode_logits(z), new.decode_logits(z), strict=True):
            assert torch.equal(a, b)


def test_vertices_decoded_as_padding_get_no_edges():
    nb101 = get_space("nb101")
    obj = get_objective("arch2vec", nb101, encoder_opts={"hidden": 32})
    with torch.no_grad():
        obj.op_bias.zero_()
        obj.op_bias[5:, obj.num_ops] = 1e3  # vertices 5 and 6 decode as "no vertex here"
    z = torch.ones(2, 7, 16)  # every z_i · z_j = 16 > 0: an edge wherever it is allowed
    dec = obj.sample_decode(z)
    assert (dec.ops[:, 5:] == PAD).all() and (dec.ops[:, :5] != PAD).all()
    assert dec.adj[:, 5:, :].sum() == 0 and dec.adj[:, :, 5:].sum() == 0
    assert torch.equal(dec.adj[:, :5, :5], torch.ones(2, 5, 5).triu(1))


def test_vertex_positions_on_another_encoder_is_a_clear_error(space):
    from selfnas.errors import InvalidOption

    with pytest.raises(InvalidOption, match="GIN option"):
        get_objective("arch2vec", space, encoder="gcn", vertex_ids=True)
