"""NAO's token layout and the `seq` encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.encoders.seq import (
    EDGE,
    ENCODERS,
    NO_EDGE,
    PAD_TOKEN,
    SeqEncoder,
    SeqLayout,
    layout_for,
)
from selfnas.errors import InvalidOption
from selfnas.spaces import get_space
from selfnas.spaces.batch import PAD, ArchBatch

NB101_OPS = ("input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _seminas_tokens(matrix: np.ndarray, ops: list[str], max_n: int = 7) -> list[int]:
    """SemiNAS's sequence, written from its documented layout (0 pad, 1 no edge, 2 edge,
    3 conv1x1, 4 conv3x3, 5 maxpool, 6 output): the reference for the 27-token form."""
    code = {"conv1x1-bn-relu": 3, "conv3x3-bn-relu": 4, "maxpool3x3": 5, "output": 6}
    seq: list[int] = []
    n = len(matrix)
    for col in range(1, max_n):
        if col >= n:
            seq += [0] * (col + 1)
        else:
            seq += [int(matrix[row][col]) + 1 for row in range(col)] + [code[ops[col]]]
    return seq


def _nb101_batch(graphs: list[tuple[np.ndarray, list[str]]], v: int = 7) -> ArchBatch:
    adj = np.zeros((len(graphs), v, v))
    ops = np.full((len(graphs), v), PAD)
    for i, (m, names) in enumerate(graphs):
        k = len(names)
        adj[i, :k, :k] = m
        ops[i, :k] = [NB101_OPS.index(o) for o in names]
    return ArchBatch.from_numpy(adj, ops, NB101_OPS)


def _graphs() -> list[tuple[np.ndarray, list[str]]]:
    full = np.triu(np.ones((7, 7)), 1)
    full[0, 6] = 0
    ops7 = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu"]
    ops7 += ["conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
    chain5 = np.diag(np.ones(4), 1)
    ops5 = ["input", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "output"]
    return [(full, ops7), (chain5, ops5)]


def test_nb101_layout_is_the_papers_27_tokens_of_7_options() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    assert layout.length == 27
    assert layout.vocab_size == 7


def test_tokens_match_seminas_layout_including_padded_graphs() -> None:
    graphs = _graphs()
    tokens = SeqLayout.for_ops(7, NB101_OPS).encode(_nb101_batch(graphs))
    for row, (m, names) in zip(tokens.tolist(), graphs, strict=True):
        assert row == _seminas_tokens(m, names)


def test_decode_inverts_encode_with_padding() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    batch = _nb101_batch(_graphs())
    back = layout.decode(layout.encode(batch))
    assert torch.equal(back.adj, batch.adj)
    assert torch.equal(back.ops, batch.ops)
    assert torch.equal(back.mask, batch.mask)


def test_smaller_batches_are_padded_to_the_layout() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    m, names = _graphs()[1]
    small = _nb101_batch([(m, names)], v=5)
    assert layout.encode(small).tolist()[0] == _seminas_tokens(m, names)
    with pytest.raises(InvalidOption, match="vertices"):
        SeqLayout.for_ops(4, NB101_OPS).encode(small)


def test_nb201_node_form_round_trips_every_cell() -> None:
    space = get_space("nb201")
    archs = space.enumerate()
    batch = space.batch(archs)
    layout = layout_for(space)
    assert layout.length == 35  # 8 vertices
    tokens = layout.encode(batch)
    assert tokens.shape == (len(archs), 35)
    assert len({tuple(t) for t in tokens.tolist()}) == len(archs)
    back = layout.decode(tokens)
    assert torch.equal(back.adj, batch.adj) and torch.equal(back.ops, batch.ops)


def test_allowed_tokens_per_position() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    allowed = layout.allowed(allow_pad=False)
    _, _, is_op = layout.positions()
    assert allowed[~is_op].sum(1).eq(2).all()  # no-edge / edge
    assert allowed[~is_op][:, [NO_EDGE, EDGE]].all()
    assert allowed[is_op].sum(1).eq(4).all()  # the four non-input ops
    assert not allowed[:, PAD_TOKEN].any()
    assert layout.allowed()[:, PAD_TOKEN].all()


def test_encoder_outputs_are_unit_norm_and_deterministic() -> None:
    space = get_space("nb201")
    batch = space.batch(space.sample(6, np.random.default_rng(0)))
    torch.manual_seed(3)
    enc = ENCODERS["seq"](space)
    torch.manual_seed(3)
    twin = ENCODERS["seq"](space)
    outputs, emb = enc.encode(batch)
    assert outputs.shape == (6, 35, 16) and emb.shape == (6, 16)
    assert torch.allclose(outputs.norm(dim=-1), torch.ones(6, 35), atol=1e-5)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(6), atol=1e-5)
    assert torch.allclose(emb, outputs.mean(1) / outputs.mean(1).norm(dim=-1, keepdim=True))
    assert torch.equal(enc.embed(batch), twin.embed(batch))


def test_encoder_node_states_follow_the_graph_contract() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    enc = SeqEncoder(layout, hidden=8)
    batch = _nb101_batch(_graphs())
    nodes = enc(batch)
    assert nodes.shape == (2, 7, 8)
    assert torch.all(nodes[1, 5:] == 0)  # padded vertices of the 5-vertex chain
    outputs, emb = enc.encode(batch)
    assert torch.allclose(nodes[:, 0], emb)
    assert torch.allclose(nodes[0, 1], outputs[0, 1])  # vertex 1's op token is token 1
    assert torch.allclose(nodes[0, 6], outputs[0, 26])  # the output op is the last token


def test_encoder_tells_different_graphs_apart_and_has_gradients() -> None:
    layout = SeqLayout.for_ops(7, NB101_OPS)
    enc = SeqEncoder(layout)
    emb = enc.embed(_nb101_batch(_graphs()))
    assert not torch.allclose(emb[0], emb[1])
    emb.sum().backward()
    assert enc.embedding.weight.grad is not None and enc.rnn.weight_hh_l0.grad.abs().sum() > 0


def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(InvalidOption, match="hidden"):
        ENCODERS["seq"](get_space("nb201"), width=3)
