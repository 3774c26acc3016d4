"""Zero-cost proxies: the registry, hand-checked values on tiny networks, determinism,
no side effects on the scored network, and agreement with NASLib's NB201 scores.

The full measurement (all proxies on 160 CIFAR-10 cells, every row for the cheap ones) is
`benchmarks/zc_check.py`; the agreement tests here use a spread subset and thresholds that
measurement supports with a margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from conftest import shared_file, zc_rows
from selfnas.errors import InvalidOption
from selfnas.nets import InputShape, build_network, dataset_shape
from selfnas.spaces import get_space
from selfnas.zc import (
    DATA_FREE,
    FAILED_SCORE,
    PROXIES,
    Batch,
    dataset_batch,
    image_batch,
    noise_batch,
    proxy,
    score_many,
)

KNOWN = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
#: input of the tiny networks: 3 channels, 8x8 pixels, 10 classes
TINY = InputShape(3, 8, 10)
CIFAR = dataset_shape("cifar10")


def _nb201(text: str = KNOWN, shape: InputShape = TINY, seed: int = 0, **size) -> nn.Module:
    torch.manual_seed(seed)
    if shape is TINY:
        size = {"channels": 4, "cells": 1} | size
    return build_network("nb201", get_space("nb201").parse(text), shape, **size)


def _tiny_batch(seed: int = 0) -> Batch:
    return noise_batch(TINY, size=8, seed=seed)


# ----------------------------------------------------------------------------- registry


def test_registry_holds_the_thirteen_proxies_and_the_data_free_ones():
    assert set(PROXIES) == {
        "params", "flops", "synflow", "snip", "grasp", "fisher", "grad_norm",
        "jacov", "nwot", "zen", "epe_nas", "l2_norm", "plain",
    }  # fmt: skip
    assert set(DATA_FREE) == {"params", "flops", "synflow", "zen", "l2_norm"}
    for name, entry in PROXIES.items():
        assert entry.name == name and entry.doc and callable(entry.fn)
    assert proxy("SynFlow") is PROXIES["synflow"]


def test_unknown_proxy_is_a_clear_error_listing_the_choices():
    with pytest.raises(InvalidOption, match=r"unknown zero-cost proxy 'synflo'.*synflow.*nwot"):
        proxy("synflo")
    with pytest.raises(InvalidOption, match="unknown zero-cost proxy"):
        score_many(["nwot", "nope"], _nb201(), _tiny_batch())


def test_a_batch_must_fit_the_network_input():
    with pytest.raises(InvalidOption, match="do not fit"):
        Batch(torch.zeros(4, 1, 8, 8), None, TINY, 10)
    with pytest.raises(InvalidOption, match="one label per input"):
        Batch(torch.zeros(4, 3, 8, 8), torch.zeros(3, dtype=torch.long), TINY, 10)


def test_labelled_proxies_ask_for_targets():
    unlabelled = noise_batch(TINY, size=8, labels=False)
    for name in ("snip", "grasp", "fisher", "grad_norm", "plain", "epe_nas"):
        with pytest.raises(InvalidOption, match="needs labelled data"):
            proxy(name)(_nb201(), unlabelled)
    assert math.isfinite(proxy("nwot")(_nb201(), unlabelled))
    assert math.isfinite(proxy("jacov")(_nb201(), unlabelled))


# ------------------------------------------------------------------ every proxy, tiny net


def test_every_proxy_gives_a_finite_float_deterministically():
    scores = score_many(PROXIES, _nb201(), _tiny_batch())
    again = score_many(PROXIES, _nb201(), _tiny_batch())
    for name, value in scores.items():
        assert isinstance(value, float) and math.isfinite(value), name
        assert value != FAILED_SCORE, name
        assert again[name] == value, name
    other_init = score_many(["synflow", "snip", "nwot"], _nb201(seed=1), _tiny_batch())
    assert all(other_init[n] != scores[n] for n in other_init)


def test_score_many_equals_each_proxy_alone():
    together = score_many(PROXIES, _nb201(), _tiny_batch())
    for name, entry in PROXIES.items():
        assert entry(_nb201(), _tiny_batch()) == pytest.approx(together[name], rel=1e-9), name


def test_scoring_leaves_the_network_untouched():
    net = _nb201()
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    score_many(PROXIES, net, _tiny_batch())
    assert not net.training and all(not m.training for m in net.modules())
    assert all(p.grad is None and p.requires_grad for p in net.parameters())
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_data_free_proxies_never_read_the_images():
    """With NaN images a proxy that read them would fail; the data-free ones do not."""
    poisoned = Batch(torch.full((8, 3, 8, 8), math.nan), None, TINY, 10)
    clean = noise_batch(TINY, size=8, labels=False)
    for name in DATA_FREE:
        value = proxy(name)(_nb201(), poisoned)
        assert math.isfinite(value) and value == proxy(name)(_nb201(), clean), name
    assert proxy("nwot")(_nb201(), poisoned) == FAILED_SCORE


def test_zen_depends_on_the_batch_seed_only():
    """Zen re-initialises the weights and draws its inputs from the batch's seed."""
    zen = proxy("zen")
    assert zen(_nb201(), _tiny_batch(seed=0)) != zen(_nb201(), _tiny_batch(seed=1))
    zeros = Batch(torch.zeros(8, 3, 8, 8), None, TINY, 10, seed=0)
    torch.manual_seed(123)  # the global generator plays no part
    assert zen(_nb201(seed=5), zeros) == zen(_nb201(), _tiny_batch(seed=0))


def test_a_network_blind_to_its_input_fails_the_input_proxies():
    """NB201's `none` path to the output: every cell outputs zeros."""
    blind = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|none~2|"
    scores = score_many(PROXIES, _nb201(blind), _tiny_batch())
    assert scores["synflow"] == 0.0 and scores["snip"] == 0.0 and scores["grad_norm"] == 0.0
    assert scores["nwot"] == scores["jacov"] == scores["epe_nas"] == FAILED_SCORE


# ------------------------------------------------------------------------ by hand


def test_params_and_flops_of_the_known_cell():
    net = _nb201(shape=CIFAR)
    batch = noise_batch(CIFAR, size=2)
    assert proxy("params")(net, batch) == 615_386.0
    assert proxy("flops")(net, batch) == 88_307_392.0  # NASLib: 88.307392 MFLOPs


def test_l2_norm_sums_the_layers_weight_norms():
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=True), nn.Flatten(), nn.Linear(2, 3), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(1.0)  # norm sqrt(2)
        net[0].bias.fill_(5.0)  # biases do not count
        net[2].weight.fill_(-2.0)  # norm sqrt(6 * 4)
    batch = noise_batch(InputShape(1, 1, 3), size=2)
    assert proxy("l2_norm")(net, batch) == pytest.approx(math.sqrt(2) + math.sqrt(24))


def _two_layer() -> nn.Module:
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(2, 3, bias=False), nn.BatchNorm1d(3), nn.Linear(3, 1, bias=False)
    )
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]]))
        net[3].weight.copy_(torch.tensor([[2.0, -1.0, 0.5]]))
    return net


def test_synflow_of_a_two_layer_linear_net_by_hand():
    """Linearised: out = |W2| |W1| 1 for an all-ones input, BN skipped. Each layer's
    sum |w * dout/dw| equals out, so the score is log(2 * out)."""
    net = _two_layer()
    w1, w2 = net[1].weight.detach().clone(), net[3].weight.detach().clone()
    out = float(w2.abs() @ w1.abs() @ torch.ones(2))  # 2*3 + 1*3.5 + 0.5*1 = 10
    assert out == 10.0
    score = proxy("synflow")(net, noise_batch(InputShape(2, 1, 1), size=4))
    assert score == pytest.approx(math.log(2 * out))
    assert torch.equal(net[1].weight, w1) and torch.equal(net[3].weight, w2)  # signs kept


def _one_layer_case() -> tuple[nn.Module, Batch, torch.Tensor, torch.Tensor]:
    """A bias-free linear classifier, a labelled batch, its weight and the loss gradient
    written out: d mean CE / dW = (softmax(z) - onehot)^T x / B."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    x = torch.randn(6, 4, 1, 1)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    batch = Batch(x, y, InputShape(4, 1, 3), 3)
    w = net[1].weight.detach().clone()
    z = x.flatten(1) @ w.T
    residual = (torch.softmax(z, dim=1) - F.one_hot(y, 3)) / len(y)
    return net, batch, w, residual.T @ x.flatten(1)


def test_gradient_proxies_of_a_one_layer_net_by_hand():
    net, batch, w, grad = _one_layer_case()
    assert proxy("grad_norm")(net, batch) == pytest.approx(float(grad.norm()), rel=1e-5)
    assert proxy("plain")(net, batch) == pytest.approx(float((grad * w).sum()), rel=1e-5)
    assert proxy("snip")(net, batch) == pytest.approx(float((grad * w).abs().sum()), rel=1e-5)


def test_fisher_of_a_one_layer_net_by_hand():
    """Channel k: 0.5 * mean_n (z_nk * dL/dz_nk)^2, counted once per input weight (4)."""
    net, batch, w, _ = _one_layer_case()
    z = batch.inputs.flatten(1) @ w.T
    dz = (torch.softmax(z, dim=1) - F.one_hot(batch.targets, 3)) / len(batch)
    expected = float((0.5 * (z * dz).pow(2).mean(0)).sum() * 4)
    assert proxy("fisher")(net, batch) == pytest.approx(expected, rel=1e-5)


def test_grasp_of_a_one_layer_net_by_hand():
    """-w . (H g) with H the loss Hessian in w: for softmax regression
    H g = sum_n x_n x_n^T-weighted (diag(p_n) - p_n p_n^T) applied to g, over B."""
    net, batch, w, grad = _one_layer_case()
    x = batch.inputs.flatten(1)
    p = torch.softmax(x @ w.T, dim=1)
    hg = torch.zeros_like(w)
    for n in range(len(x)):
        jac = torch.diag(p[n]) - torch.outer(p[n], p[n])  # d softmax / d z
        hg += torch.outer(jac @ (grad @ x[n]), x[n]) / len(x)
    assert proxy("grasp")(net, batch) == pytest.approx(float((-w * hg).sum()), rel=1e-4)


def test_nwot_counts_agreeing_relu_codes_by_hand():
    net = nn.Sequential(nn.Flatten(), nn.ReLU())
    x = torch.tensor([[1.0, -1, 2, -3], [1, 1, -1, -1], [-2, 1, 1, 1]]).view(3, 4, 1, 1)
    codes = (x.flatten(1) > 0).double()
    agree = codes @ codes.T + (1 - codes) @ (1 - codes).T  # [[4, 2, 1], [2, 4, 1], [1, 1, 4]]
    batch = Batch(x, None, InputShape(4, 1, 2), 2)
    assert proxy("nwot")(net, batch) == pytest.approx(math.log(np.linalg.det(agree.numpy())))


def test_jacov_of_a_linear_net_by_hand():
    """Every image has the same Jacobian, so the correlation matrix is all ones: one
    eigenvalue B and B - 1 zeros, each shifted by the ridge 1e-5."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    batch = Batch(torch.randn(5, 4, 1, 1), None, InputShape(4, 1, 2), 2)
    k = 1e-5
    expected = -(math.log(5 + k) + 1 / (5 + k) + 4 * (math.log(k) + 1 / k))
    assert proxy("jacov")(net, batch) == pytest.approx(expected, rel=1e-6)


def test_epe_nas_of_a_linear_net_by_hand():
    """Identical Jacobians: each class's correlations are all ones, contributing
    m^2 log(1 + 1e-5) for m images; the score sums the classes' magnitudes."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    y = torch.tensor([0, 0, 1, 1, 1])
    batch = Batch(torch.randn(5, 4, 1, 1), y, InputShape(4, 1, 2), 2)
    expected = (4 + 9) * math.log(1 + 1e-5)
    assert proxy("epe_nas")(net, batch) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------- stand-in images


def test_image_batch_resizes_replicates_and_normalises():
    images = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(50) % 10
    batch = image_batch(images, labels, CIFAR, size=32, seed=1)
    assert batch.inputs.shape == (32, 3, 32, 32) and batch.targets.shape == (32,)
    assert torch.equal(batch.inputs[:, 0], batch.inputs[:, 2])
    assert abs(float(batch.inputs.mean())) < 0.2
    assert torch.equal(batch.inputs, image_batch(images, labels, CIFAR, size=32, seed=1).inputs)
    with pytest.raises(InvalidOption, match="need 64 images"):
        image_batch(images, labels, CIFAR, size=64)


# ----------------------------------------------------------------- NASLib agreement

#: cells of the agreement tests, spread over NB201 CIFAR-10 test accuracy
CHEAP_CELLS = 60
DATA_CELLS = 12


def _spread_rows(count: int) -> list[dict]:
    import csv

    with open(shared_file("nb201/nb201_200ep_cifar10.csv"), newline="") as handle:
        accuracy = {r["arch"]: float(r["cifar10_test"]) for r in csv.DictReader(handle)}
    rows = [r for r in zc_rows("zc_nb201") if r["dataset"] == "cifar10"]
    rows.sort(key=lambda r: (accuracy[r["arch"]], r["arch"]))
    picks = np.linspace(0, len(rows) - 1, count).round().astype(int)
    return [rows[i] | {"test": accuracy[rows[i]["arch"]]} for i in picks]


def _naslib(rows: list[dict], name: str) -> np.ndarray:
    values = np.array([float(r[name]) if r[name] else np.nan for r in rows])
    return np.where(values == -np.inf, FAILED_SCORE, values)


def test_cheap_proxies_agree_with_naslib_on_spread_cells():
    rows = _spread_rows(CHEAP_CELLS)
    batch = noise_batch(CIFAR, size=1, labels=False)
    names = ("params", "flops", "synflow", "l2_norm")
    ours = {n: [] for n in names}
    for row in rows:
        for name, value in score_many(names, _nb201(row["arch"], CIFAR), batch).items():
            ours[name].append(value)
    for name in ("params", "flops"):
        assert ours[name] == [round(float(r[name]) * 1e6) for r in rows], name
    # all 725 rows: synflow 0.999; l2_norm 0.946, at the init-noise ceiling (two of our own
    # seeds agree to 0.933: cells with the same ops differ only by their init draws)
    for name, floor in (("synflow", 0.99), ("l2_norm", 0.9)):
        theirs = _naslib(rows, name)
        keep = ~np.isnan(theirs)
        rho = spearmanr(np.array(ours[name])[keep], theirs[keep]).statistic
        assert rho >= floor, (name, rho)


#: data-dependent proxies checked here (one backward, one Jacobian and one forward per
#: cell) and their Spearman floors on these 12 cells (measured: 0.98, 0.96, 0.96, 0.76,
#: 0.99; jacov is the noisiest, 0.89 on 160 cells, as between two of our own init seeds);
#: grasp, plain and epe_nas track NASLib too loosely for a small sample (see the JSON)
DATA_FLOORS = {"snip": 0.9, "grad_norm": 0.9, "fisher": 0.9, "jacov": 0.7, "nwot": 0.95}


def test_data_proxies_track_naslib_on_spread_cells():
    """The benchmark's stand-in (animal silhouettes at 32x32, 3 channels), fewer cells."""
    shared_file("images/animal_shapes_10k.npz")
    rows = _spread_rows(DATA_CELLS)
    batch = dataset_batch("animals10k", CIFAR, size=32)
    ours = {n: [] for n in DATA_FLOORS}
    for row in rows:
        for name, value in score_many(DATA_FLOORS, _nb201(row["arch"], CIFAR), batch).items():
            ours[name].append(value)
    for name, floor in DATA_FLOORS.items():
        rho = spearmanr(ours[name], _naslib(rows, name)).statistic
        assert rho >= floor, (name, rho)
