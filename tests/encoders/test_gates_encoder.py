"""GATES: shapes, isomorphism invariance, `none`/padding semantics, both forms, NB201."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.encoders.gates import GatesEncoder
from selfnas.errors import InvalidOption
from selfnas.spaces.batch import PAD, ArchBatch, EdgeBatch

NODE_OPS = ("input", "conv3x3", "conv1x1", "maxpool", "none", "output")
EDGE_OPS = ("none", "skip", "conv1x1", "conv3x3", "pool")


def _random_cells(n: int, v: int, rng: np.random.Generator, pad_to: int) -> ArchBatch:
    """Random DAG cells of `v` real vertices (input 0, output v-1), padded to `pad_to`."""
    adj = np.zeros((n, pad_to, pad_to))
    ops = np.full((n, pad_to), PAD)
    for k in range(n):
        upper = np.triu(rng.random((v, v)) < 0.5, k=1).astype(float)
        for j in range(1, v):  # every vertex has a predecessor
            if upper[:j, j].sum() == 0:
                upper[rng.integers(0, j), j] = 1.0
        adj[k, :v, :v] = upper
        ops[k, 0] = 0
        ops[k, 1 : v - 1] = rng.integers(1, 4, size=v - 2)
        ops[k, v - 1] = len(NODE_OPS) - 1
    return ArchBatch.from_numpy(adj, ops, NODE_OPS)


def _permute(batch: ArchBatch, perm: np.ndarray) -> ArchBatch:
    """Relabel vertices: new vertex p holds old vertex perm[p]."""
    p = torch.as_tensor(perm)
    adj = batch.adj[:, p][:, :, p]
    return ArchBatch(adj=adj, ops=batch.ops[:, p], mask=batch.mask[:, p], op_names=batch.op_names)


@pytest.fixture
def node_encoder() -> GatesEncoder:
    torch.manual_seed(0)
    return GatesEncoder(node_ops=NODE_OPS).eval()


def test_node_form_shapes_and_padding_zero(node_encoder):
    batch = _random_cells(5, 5, np.random.default_rng(0), pad_to=7)
    states = node_encoder(batch)
    assert states.shape == (5, 7, 128)
    assert torch.all(states[:, 5:] == 0), "padding must carry nothing"
    assert node_encoder.embed(batch).shape == (5, 128)


def test_isomorphic_cells_get_the_same_embedding(node_encoder):
    rng = np.random.default_rng(1)
    batch = _random_cells(8, 6, rng, pad_to=7)
    # any relabelling of the vertices, padding moved into the middle too
    perm = rng.permutation(7)
    permuted = _permute(batch, perm)
    assert not torch.equal(permuted.ops, batch.ops)
    torch.testing.assert_close(node_encoder.embed(permuted), node_encoder.embed(batch))
    # node states are permuted with the vertices (equivariance)
    torch.testing.assert_close(node_encoder(permuted), node_encoder(batch)[:, perm])


def test_different_ops_give_different_embeddings(node_encoder):
    batch = _random_cells(1, 5, np.random.default_rng(2), pad_to=5)
    other_ops = batch.ops.clone()
    other_ops[0, 2] = 1 if int(other_ops[0, 2]) != 1 else 2
    other = ArchBatch(batch.adj, other_ops, batch.mask, NODE_OPS)
    assert not torch.allclose(node_encoder.embed(batch), node_encoder.embed(other))


def test_none_node_equals_missing_node(node_encoder):
    """A `none` vertex passes nothing on: the cell equals the one without that vertex."""
    adj = torch.zeros(1, 5, 5)
    adj[0, 0, 1] = adj[0, 0, 2] = adj[0, 1, 4] = adj[0, 2, 4] = adj[0, 0, 3] = adj[0, 3, 4] = 1
    ops = torch.tensor([[0, 1, 4, 2, 5]])  # vertex 2 is `none`
    with_none = ArchBatch(adj, ops, torch.ones(1, 5, dtype=torch.bool), NODE_OPS)
    keep = torch.tensor([0, 1, 3, 4])
    without = ArchBatch(
        adj[:, keep][:, :, keep], ops[:, keep], torch.ones(1, 4, dtype=torch.bool), NODE_OPS
    )
    torch.testing.assert_close(node_encoder.embed(with_none), node_encoder.embed(without))


def _edge_batch(rows: list[list[int]]) -> EdgeBatch:
    """NB201-like 4-node cells from six edge ops in the standard edge order."""
    edges = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    out = np.full((len(rows), 4, 4), PAD)
    for k, row in enumerate(rows):
        for e, (i, j) in enumerate(edges):
            out[k, i, j] = row[e]
    return EdgeBatch.from_numpy(out, EDGE_OPS)


def test_edge_form_none_edge_equals_absent_edge():
    torch.manual_seed(0)
    enc = GatesEncoder(edge_ops=EDGE_OPS).eval()
    batch = _edge_batch([[3, 0, 2, 1, 4, 3]])
    absent = batch.edge_ops.clone()
    absent[0, 0, 2] = PAD  # the `none` edge 0 -> 2 removed altogether
    torch.testing.assert_close(enc.embed(batch), enc.embed(EdgeBatch(absent, EDGE_OPS)))
    changed = _edge_batch([[3, 1, 2, 1, 4, 3]])
    assert not torch.allclose(enc.embed(batch), enc.embed(changed))


def test_edge_form_gradients_reach_every_parameter():
    torch.manual_seed(0)
    enc = GatesEncoder(edge_ops=EDGE_OPS)
    rows = np.random.default_rng(0).integers(0, 5, size=(16, 6)).tolist()
    enc.embed(_edge_batch(rows)).pow(2).sum().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


def test_output_readout_reads_the_last_node():
    torch.manual_seed(0)
    enc = GatesEncoder(edge_ops=EDGE_OPS, readout="output").eval()
    batch = _edge_batch([[3, 0, 2, 1, 4, 3], [1, 1, 1, 1, 1, 1]])
    torch.testing.assert_close(enc.embed(batch), enc(batch)[:, 3])


def test_form_mismatch_and_bad_options_are_clear_errors(node_encoder):
    with pytest.raises(InvalidOption, match="no edge-form vocabulary"):
        node_encoder(_edge_batch([[1, 1, 1, 1, 1, 1]]))
    with pytest.raises(InvalidOption):
        GatesEncoder(node_ops=NODE_OPS, readout="max")
    with pytest.raises(InvalidOption):
        GatesEncoder()


def test_nb201_both_forms_encode_the_space():
    from selfnas.spaces import get_space

    space = get_space("nb201")
    archs = space.sample(32, np.random.default_rng(0))
    torch.manual_seed(0)
    edge = GatesEncoder(space)
    node = GatesEncoder(space, form="node")
    assert edge.input_form == "edge" and node.input_form == "node"
    e = edge.embed(edge.make_batch(space, archs))
    n = node.embed(node.make_batch(space, archs))
    assert e.shape == n.shape == (32, 128)
    assert torch.isfinite(e).all() and torch.isfinite(n).all()
    # distinct cells get distinct codes
    assert torch.unique(e.round(decimals=5), dim=0).shape[0] == len(set(archs))
    # one module reads both forms (a VGAE pretrains it on the node form)
    both = edge.embed(space.batch(archs))
    assert both.shape == (32, 128) and node(space.batch(archs)).shape == (32, 8, 128)
