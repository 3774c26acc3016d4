"""SSWP-NAS supernet: derivation, sampling, fixing, export equivalence and memory bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.oneshot.derive import derive_cell
from selfnas.oneshot.network import MacroConfig, Network, load_network, save_network
from selfnas.oneshot.ops import make_op
from selfnas.oneshot.sampling import SKIP_INDEX, binary_gates, sample_pairs
from selfnas.oneshot.supernet import DerivedCell, MixedEdge, Supernet
from selfnas.spaces.darts_genotype import (
    DARTS_OPS,
    DARTS_V2,
    NUM_EDGES,
    POOL_OPS,
    SKIP_CONNECT,
    CellGenotype,
    cells_from_text,
    cells_to_text,
    edge_index,
    edge_source,
)

CONFIG = MacroConfig(cells=4, channels=4, in_channels=1)


def _supernet(seed: int = 0) -> Supernet:
    torch.manual_seed(seed)
    return Supernet(CONFIG, head="projection", out_dim=16)


def test_every_space_op_has_a_module_and_an_edge_holds_them_in_space_order():
    for name in DARTS_OPS:
        for stride in (1, 2):
            out = make_op(name, 4, stride)(torch.randn(2, 4, 8, 8))
            assert out.shape == (2, 4, 8 // stride, 8 // stride)
    assert tuple(MixedEdge(4, 1).ops) == DARTS_OPS
    with pytest.raises(InvalidOption, match="unknown DARTS op"):
        make_op("none", 4, 1)


def test_edges_number_the_inputs_of_each_node():
    pairs = [(node, source) for node in range(4) for source in range(node + 2)]
    assert [edge_index(*pair) for pair in pairs] == list(range(NUM_EDGES))
    assert [edge_source(edge) for edge in range(NUM_EDGES)] == pairs
    for bad in (-1, NUM_EDGES):
        with pytest.raises(InvalidArchitecture):
            edge_source(bad)
    with pytest.raises(InvalidArchitecture):
        edge_index(0, 2)  # node 0 sees only the two cell inputs


def test_a_genotype_splits_into_typed_cells_and_back():
    from selfnas.oneshot.derive import darts_summary

    normal, reduce = DARTS_V2.cell_genotypes
    assert (normal.reduction, reduce.reduction) == (False, True)
    assert darts_summary([normal, reduce, normal]) == DARTS_V2
    assert cells_from_text(cells_to_text([normal, reduce])) == [normal, reduce]
    with pytest.raises(InvalidArchitecture):
        CellGenotype(normal.ops, reduction=False, concat=(2, 3))


def test_layout_puts_reductions_at_thirds():
    assert MacroConfig(cells=8).reduction_cells() == (2, 5)
    assert [row[3] for row in CONFIG.layout()] == [False, True, True, False]


def test_derive_keeps_two_strongest_inputs_and_best_op():
    alpha = np.full((14, len(DARTS_OPS)), -5.0)
    conv = DARTS_OPS.index("sep_conv_3x3")
    alpha[[0, 1], conv] = 5.0  # node 0: both inputs strong
    alpha[2 + 2, DARTS_OPS.index("dil_conv_5x5")] = 6.0  # node 1 <- node 0
    alpha[2 + 0, conv] = 4.0
    genotype = derive_cell(alpha, reduction=False)
    assert genotype.ops[2] == ("dil_conv_5x5", 2)
    assert genotype.ops[3] == ("sep_conv_3x3", 0)
    assert {source for _, source in genotype.ops[:2]} == {0, 1}


def test_derive_caps_skips_and_pools():
    alpha = np.zeros((14, len(DARTS_OPS)))
    alpha[:, SKIP_INDEX] = 3.0
    alpha[:, DARTS_OPS.index("max_pool_3x3")] = 2.0
    capped = derive_cell(alpha, reduction=False, max_skip=2, max_pool=2)
    assert capped.count([SKIP_CONNECT]) == 2
    assert capped.count(POOL_OPS) <= 2
    assert derive_cell(alpha, reduction=False).count([SKIP_CONNECT]) == 8


def test_genotype_text_round_trip_and_validation():
    net = _supernet()
    genotypes = net.derive()
    assert cells_from_text(cells_to_text(genotypes)) == genotypes
    with pytest.raises(InvalidArchitecture):
        CellGenotype(ops=(("sep_conv_3x3", 0),) * 8, reduction=False)  # same input twice


def test_two_mode_sampling_and_skip_dropout():
    generator = torch.Generator().manual_seed(0)
    alpha = torch.zeros(14, len(DARTS_OPS))
    alpha[:, SKIP_INDEX] = 20.0  # skip is (almost) always one of the pair and picked
    active, other = sample_pairs(alpha, generator)
    assert (active != other).all()
    assert (active == SKIP_INDEX).float().mean() > 0.9
    dropped, _ = sample_pairs(alpha, generator, skip_dropout=1.0)
    assert not (dropped == SKIP_INDEX).any()
    assert all(DARTS_OPS[int(i)].startswith(("sep", "dil")) for i in dropped)


def test_binary_gate_gradient_matches_proxylessnas():
    alpha = torch.randn(14, len(DARTS_OPS), requires_grad=True)
    active = torch.arange(14) % 7
    other = (active + 3) % 7
    gates = binary_gates(alpha, active, other)
    assert torch.allclose(gates.detach(), torch.tensor([[1.0, 0.0]]).repeat(14, 1))
    dl_dg = torch.randn(14, 2)
    (gates * dl_dg).sum().backward()
    pair = torch.stack([active, other], 1)
    p = torch.softmax(alpha.detach().gather(1, pair), -1)
    expected_active = dl_dg[:, 0] * p[:, 0] * (1 - p[:, 0]) - dl_dg[:, 1] * p[:, 1] * p[:, 0]
    assert torch.allclose(
        alpha.grad.gather(1, active[:, None]).squeeze(1), expected_active, atol=1e-6
    )
    untouched = torch.ones_like(alpha, dtype=torch.bool)
    untouched.scatter_(1, pair, False)
    assert (alpha.grad[untouched] == 0).all()


def test_arch_step_gives_alpha_gradients_weight_step_does_not():
    net = _supernet()
    x = torch.randn(4, 1, 16, 16)
    generator = torch.Generator().manual_seed(1)
    net.sample(generator, arch_step=False)
    net(x).sum().backward()
    assert all(alpha.grad is None for alpha in net.alphas)
    net.sample(generator, arch_step=True)
    net(x).square().sum().backward()
    assert all(alpha.grad is not None and alpha.grad.abs().sum() > 0 for alpha in net.alphas)


def test_exported_network_equals_supernet_derived_path(tmp_path):
    net = _supernet().eval()
    net.fix_cell(1)  # one fixed cell, the others derived inside the supernet
    net.set_derived_path()
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        expected = net(x)
        exported = net.to_network().eval()
        assert isinstance(exported, Network)
        assert torch.allclose(exported(x), expected, atol=1e-6)
        save_network(exported, tmp_path / "network.pt")
        loaded = load_network(tmp_path / "network.pt")
        assert torch.allclose(loaded(x), expected, atol=1e-6)
    assert not any("alphas" in name for name, _ in loaded.named_parameters())


def test_fixed_cell_holds_only_the_derived_ops():
    net = _supernet()
    genotype = net.fix_cell(0)
    cell = net.cells[0]
    assert isinstance(cell, DerivedCell)
    fresh = Network(CONFIG, net.derive()).cells[0]
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(cell) == count(fresh)
    assert sorted(cell.edges) == sorted(str(edge) for edge, _ in genotype.edges())
    assert not net.alphas[0].requires_grad
    assert all(a is not net.alphas[0] for a in net.trainable_arch_parameters())


def _saved_bytes(step) -> int:
    """Bytes autograd keeps for backward during `step()` (distinct storages)."""
    seen: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


def test_single_path_memory_is_close_to_one_network():
    net = _supernet()
    x = torch.randn(16, 1, 16, 16)
    generator = torch.Generator().manual_seed(0)
    derived = net.to_network()

    def search_step(arch: bool):
        net.sample(generator, arch_step=arch)
        net(x).sum().backward()

    weight_bytes = max(_saved_bytes(lambda: search_step(False)) for _ in range(3))
    arch_bytes = max(_saved_bytes(lambda: search_step(True)) for _ in range(3))
    train_bytes = _saved_bytes(lambda: derived(x).sum().backward())
    # A search cell runs all 14 edges (one op each), the derived cell 8: activations can
    # exceed one network's by at most ~14/8; an arch step also keeps the active op's output
    # per edge (for its gate gradient; the pair's other op runs in backward, unstored).
    assert weight_bytes <= 1.75 * train_bytes
    assert arch_bytes <= 2.0 * train_bytes

    def all_ops_step():
        net.sample_all_ops()
        net(x).sum().backward()

    # the DARTS-style relaxation (every op on every edge) is what single-path avoids
    assert _saved_bytes(all_ops_step) >= 4 * weight_bytes


def test_recomputed_cells_give_the_same_gradients():
    plain, recomputed = _supernet(), _supernet()
    recomputed.checkpoint_cells = 2  # the first two cells; the others run plainly
    x = torch.randn(4, 1, 16, 16)
    for net in (plain, recomputed):
        net.sample(torch.Generator().manual_seed(2), arch_step=True)
        net(x).square().sum().backward()
    for a, b in zip(plain.parameters(), recomputed.parameters(), strict=True):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            assert torch.allclose(a.grad, b.grad, atol=1e-6)
    saved = {}
    for cells in (0, 2, -1):  # none, the first two, all
        net = _supernet()
        net.checkpoint_cells = cells

        def step(net=net):
            net.sample(torch.Generator().manual_seed(2))
            net(x).sum().backward()

        saved[cells] = _saved_bytes(step)
    assert saved[-1] < saved[2] < saved[0]


def test_lazy_gate_gradient_equals_running_both_ops_in_forward():
    torch.manual_seed(0)
    edge = MixedEdge(4, 1).eval()  # eval: BN uses running stats, so both orders agree
    x = torch.randn(2, 4, 6, 6)
    target = torch.randn(2, 4, 6, 6)
    alpha = torch.randn(len(DARTS_OPS), requires_grad=True)
    grads = []
    for lazy in (True, False):
        alpha.grad = None
        active, other = torch.tensor([3]), torch.tensor([0])
        gates = binary_gates(alpha[None], active, other)[0]
        if lazy:
            y = edge(x, 3, 0, gates)
        else:
            with torch.no_grad():
                out_other = edge.ops[DARTS_OPS[0]](x)
            y = gates[0] * edge.ops[DARTS_OPS[3]](x) + gates[1] * out_other
        ((y - target) ** 2).sum().backward()
        grads.append(alpha.grad.clone())
    assert grads[0].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_darts_summary_picks_the_most_frequent_cell_of_each_type():
    from selfnas.oneshot.derive import darts_summary
    from selfnas.spaces.darts_genotype import parse_genotype

    net = Supernet(MacroConfig(cells=6, channels=4, in_channels=1))
    cells = net.derive()
    normal = cells[0]
    cells = [normal if not c.reduction else c for c in cells]  # 4 identical normal cells
    summary = darts_summary(cells)
    assert summary.normal == normal.to_darts_cell()
    assert summary.reduce == cells[2].to_darts_cell()  # 2 different reduce cells: the first
    assert parse_genotype(str(summary)) == summary
    with pytest.raises(InvalidArchitecture):
        darts_summary([c for c in cells if not c.reduction])


def test_all_ops_baseline_runs_every_op_and_trains_every_alpha():
    net = _supernet()
    net.sample_all_ops()
    net(torch.randn(2, 1, 16, 16)).square().sum().backward()
    assert all((alpha.grad != 0).all() for alpha in net.alphas)
