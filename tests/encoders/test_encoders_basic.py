"""GIN, GCN (with and without a global node) and MLP encoders: shapes, padding, and the
invariance of graph encoders to relabelled (isomorphic) inputs, on real NB201 cells and on
NB101-style padded DAGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.encoders import ENCODERS, GraphEncoder, get_encoder
from selfnas.errors import InvalidOption
from selfnas.spaces import get_space
from selfnas.spaces.batch import PAD, ArchBatch

GRAPH_ENCODERS = ("gin", "gcn", "gcn-global")
NB101_OPS = ("input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output")


class _Vocab:
    """The little a graph encoder needs from a space: its node vocabulary."""

    node_ops = NB101_OPS


def _padded_dags(n: int, v: int, rng: np.random.Generator) -> ArchBatch:
    """Random NB101-style DAGs with 3..v vertices, padded to v (input first, output last)."""
    adj = np.zeros((n, v, v), dtype=np.float32)
    ops = np.full((n, v), PAD, dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(3, v + 1))
        upper = np.triu(rng.random((k, k)) < 0.5, 1)
        upper[np.arange(k - 1), np.arange(1, k)] = True  # a path, so it is connected
        adj[i, :k, :k] = upper
        ops[i, :k] = np.r_[0, rng.integers(1, 4, k - 2), 4]
    return ArchBatch.from_numpy(adj, ops, NB101_OPS)


def _relabel(batch: ArchBatch, perm: np.ndarray) -> ArchBatch:
    """The same graphs with vertices renumbered by `perm` (padding included)."""
    p = torch.as_tensor(perm)
    return ArchBatch(
        adj=batch.adj[:, p][:, :, p],
        ops=batch.ops[:, p],
        mask=batch.mask[:, p],
        op_names=batch.op_names,
    )


@pytest.fixture(scope="module")
def nb201_batch() -> ArchBatch:
    space = get_space("nb201")
    return space.batch(space.sample(64, np.random.default_rng(0)))


@pytest.mark.parametrize("name", [*GRAPH_ENCODERS, "mlp"])
def test_shapes_on_nb201(name, nb201_batch):
    torch.manual_seed(0)
    enc = get_encoder(name, get_space("nb201"), hidden=32)
    assert isinstance(enc, GraphEncoder)
    nodes = enc(nb201_batch)
    assert nodes.shape == (64, 8, 32)
    emb = enc.embed(nb201_batch)
    assert emb.shape == (64, 32)
    assert torch.isfinite(emb).all()
    # different cells get different codes
    assert torch.cdist(emb, emb).fill_diagonal_(1.0).min() > 0


@pytest.mark.parametrize("name", GRAPH_ENCODERS)
def test_graph_encoders_ignore_vertex_labels(name):
    rng = np.random.default_rng(1)
    batch = _padded_dags(40, 7, rng)
    torch.manual_seed(0)
    enc = get_encoder(name, _Vocab(), hidden=32)
    enc.train()
    enc(batch)  # move BatchNorm statistics off their initial values
    enc.eval()
    with torch.no_grad():
        base = enc.embed(batch)
        for _ in range(3):
            moved = enc.embed(_relabel(batch, rng.permutation(7)))
            torch.testing.assert_close(moved, base, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", GRAPH_ENCODERS)
def test_graph_encoders_ignore_padding(name):
    """A cell padded to 9 vertices embeds as it does padded to 7."""
    batch = _padded_dags(30, 7, np.random.default_rng(2))
    wide = ArchBatch(
        adj=torch.nn.functional.pad(batch.adj, (0, 2, 0, 2)),
        ops=torch.nn.functional.pad(batch.ops, (0, 2), value=PAD),
        mask=torch.nn.functional.pad(batch.mask, (0, 2), value=False),
        op_names=batch.op_names,
    )
    torch.manual_seed(0)
    enc = get_encoder(name, _Vocab(), hidden=16)
    with torch.no_grad():
        enc.train()
        torch.testing.assert_close(enc.embed(wide), enc.embed(batch), rtol=1e-5, atol=1e-5)
        enc.eval()
        torch.testing.assert_close(enc.embed(wide), enc.embed(batch), rtol=1e-5, atol=1e-5)
        assert (enc(wide)[:, 7:] == 0).all()


def test_gin_has_learnable_epsilon_and_default_depth():
    enc = get_encoder("gin", _Vocab())
    assert len(enc.layers) == 4 and enc.out_dim == 128
    assert all(layer.eps.requires_grad for layer in enc.layers)


def test_mlp_rejects_other_vertex_counts():
    enc = get_encoder("mlp", _Vocab(), num_vertices=7)
    with pytest.raises(ValueError, match="7 vertices"):
        enc(_padded_dags(2, 6, np.random.default_rng(0)))


def test_registry_is_a_dict_and_rejects_unknown_names():
    assert {"gin", "gcn", "mlp"} <= set(ENCODERS)
    with pytest.raises(InvalidOption, match="unknown encoder"):
        get_encoder("transformer", _Vocab())


def _isomorphic_nb101(space, cell, rng):
    """The same NB101 cell written with its intermediate vertices in another topological
    order (another adjacency matrix for one graph), or None if the cell has only one."""
    adj = np.asarray(cell.adjacency)
    n = len(cell.operations)
    for _ in range(50):
        order = np.r_[0, rng.permutation(np.arange(1, n - 1)), n - 1]
        moved = adj[np.ix_(order, order)]
        if np.tril(moved).any() or np.array_equal(moved, adj):
            continue  # not upper triangular (not a valid spec), or the same matrix
        return space.from_spec(moved, [cell.operations[i] for i in order])
    return None


def test_arch2vec_embedding_is_invariant_on_isomorphic_nb101_cells():
    from selfnas.errors import InvalidArchitecture
    from selfnas.pretrain.registry import get_objective

    space = get_space("nb101")
    rng = np.random.default_rng(4)
    cells, moved = [], []
    while len(cells) < 24:
        k = int(rng.integers(5, 8))
        upper = np.triu(rng.random((k, k)) < 0.45, 1).astype(np.int64)
        ops = ["input", *(str(o) for o in rng.choice(NB101_OPS[1:4], k - 2)), "output"]
        try:
            cell = space.from_spec(upper, ops)
        except InvalidArchitecture:
            continue
        other = _isomorphic_nb101(space, cell, rng)
        if other is None:
            continue
        assert space.hash(other) == space.hash(cell)
        cells.append(cell)
        moved.append(other)
    # the raw spellings differ; the published encoder is invariant to the vertex order itself
    raw_a, raw_b = _raw_batch(cells), _raw_batch(moved)
    assert not torch.equal(raw_a.adj, raw_b.adj)
    torch.manual_seed(0)
    obj = get_objective("arch2vec", space, vertex_ids=False)
    obj.train()
    obj.loss((raw_a, None))  # move BatchNorm statistics off their initial values
    torch.testing.assert_close(obj.embed(raw_b), obj.embed(raw_a), rtol=1e-5, atol=1e-5)
    # the space writes every cell in its canonical order, so an encoder that reads vertex
    # positions embeds the cell, not its spelling
    a, b = space.batch(cells), space.batch(moved)
    assert torch.equal(a.adj, b.adj) and torch.equal(a.ops, b.ops)
    with_ids = get_objective("arch2vec", space, vertex_ids=True)
    with_ids.train()
    with_ids.loss((a, None))
    torch.testing.assert_close(with_ids.embed(b), with_ids.embed(a), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(with_ids.embed(raw_b), with_ids.embed(raw_a), atol=1e-4)


def _raw_batch(cells):
    """NB101 cells as written (not canonicalised), padded to 7 vertices."""
    from selfnas.spaces.batch import PAD, ArchBatch
    from selfnas.spaces.nb101 import NODE_OPS

    adj = np.zeros((len(cells), 7, 7), dtype=np.float32)
    ops = np.full((len(cells), 7), PAD, dtype=np.int64)
    for i, cell in enumerate(cells):
        n = len(cell.operations)
        adj[i, :n, :n] = cell.adjacency
        ops[i, :n] = [NODE_OPS.index(op) for op in cell.operations]
    return ArchBatch.from_numpy(adj, ops, NODE_OPS)


def test_gin_vertex_ids_add_one_hot_positions_zero_on_padding():
    rng = np.random.default_rng(3)
    batch = _padded_dags(6, 7, rng)
    enc = get_encoder("gin", _Vocab(), vertex_ids=False)
    with_ids = get_encoder("gin", get_space("nb101"), vertex_ids=True)
    assert enc.layers[0].lin1.in_features == len(NB101_OPS)
    assert with_ids.vertex_ids == 7 and with_ids.layers[0].lin1.in_features == len(NB101_OPS) + 7
    ids = with_ids._ids(batch)
    mask = batch.mask
    assert torch.equal(ids.argmax(-1)[mask], torch.arange(7).expand(6, 7)[mask])
    assert (ids[~mask] == 0).all() and torch.equal(ids.sum(-1), mask.float())
    # positions are information the permutation-invariant encoder does not have
    perm = np.r_[0, rng.permutation(np.arange(1, 6)), 6]
    with_ids.train()
    with_ids(batch)
    with_ids.eval()
    assert not torch.allclose(with_ids(_relabel(batch, perm)), with_ids(batch)[:, perm], atol=1e-4)
    with pytest.raises(ValueError, match="7 vertex positions"):
        with_ids(_padded_dags(2, 9, rng))
