"""Each loss pushes scores the right way on toy pairs; pair sampling obeys its contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfnas.errors import InvalidOption
from selfnas.predictors.losses import (
    LOSSES,
    bce_loss,
    comparator_loss,
    get_loss,
    hinge_loss,
    listmle_loss,
    mse_loss,
    sample_pairs,
)
from selfnas.predictors.model import ComparatorHead

# arch 1 is truly better than arch 0, but the scores say the opposite
TARGETS = torch.tensor([0.0, 1.0])
PAIRS = torch.tensor([[0, 1]])


def _grad(loss_fn, scores):
    s = torch.tensor(scores, requires_grad=True)
    loss_fn(s, TARGETS, PAIRS).backward()
    return s.grad


@pytest.mark.parametrize("name", ["hinge", "bce", "listmle", "mse"])
def test_descent_raises_the_better_arch_and_lowers_the_worse(name):
    grad = _grad(get_loss(name), [0.5, 0.2])
    # gradient descent moves against the gradient: up for arch 1, down for arch 0
    assert grad[1] < 0 < grad[0]


def test_hinge_is_zero_beyond_the_margin_and_linear_inside():
    assert hinge_loss(torch.tensor([0.0, 0.2]), TARGETS, PAIRS) == 0  # gap 0.2 > m = 0.1
    assert hinge_loss(torch.tensor([0.0, 0.05]), TARGETS, PAIRS).item() == pytest.approx(0.05)
    assert hinge_loss(torch.tensor([0.3, 0.0]), TARGETS, PAIRS).item() == pytest.approx(0.4)
    grad = _grad(hinge_loss, [0.0, 0.2])
    assert torch.all(grad == 0)


def test_bce_matches_its_formula():
    s = torch.tensor([0.5, 0.2])
    expected = -torch.log(torch.sigmoid(torch.tensor(0.2 - 0.5)))
    assert bce_loss(s, TARGETS, PAIRS).item() == pytest.approx(expected.item(), rel=1e-6)


def test_listmle_by_hand_and_order_invariance():
    s = torch.tensor([1.0, 2.0, 0.0])
    y = torch.tensor([0.5, 0.9, 0.1])  # true order: 1, 0, 2
    # -[s1 - lse(s1,s0,s2)] - [s0 - lse(s0,s2)] - [s2 - s2], divided by 3
    lse = torch.logsumexp
    first = lse(torch.tensor([2.0, 1.0, 0.0]), 0) - 2.0
    second = lse(torch.tensor([1.0, 0.0]), 0) - 1.0
    expected = (first + second) / 3
    assert listmle_loss(s, y, PAIRS).item() == pytest.approx(expected.item(), rel=1e-6)
    perm = torch.tensor([2, 0, 1])
    assert listmle_loss(s[perm], y[perm], PAIRS).item() == pytest.approx(expected.item())


def test_comparator_descent_makes_it_prefer_the_better_arch():
    torch.manual_seed(0)
    head = ComparatorHead(4, (8,), 0.0)
    emb = torch.randn(2, 4)
    logit = head(emb[[0]], emb[[1]])
    # antisymmetric: swapping the pair flips the logit exactly
    torch.testing.assert_close(head(emb[[1]], emb[[0]]), -logit)
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    before = logit.item()
    for _ in range(20):
        loss = comparator_loss(head(emb[[0]], emb[[1]]), TARGETS, PAIRS)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert head(emb[[0]], emb[[1]]).item() > before


def test_mse_is_the_mean_squared_error():
    assert mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]), PAIRS).item() == 2.5


@pytest.mark.parametrize("n", [5, 156, 600])
def test_sample_pairs_contract(n):
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 20, size=n).astype(float)  # many ties
    pairs = sample_pairs(targets, 4 * n, rng)
    assert len(pairs) <= 4 * n
    i, j = pairs[:, 0], pairs[:, 1]
    assert np.all(i < j) and np.all(j < n)
    assert np.all(targets[i] != targets[j])
    assert len({(a, b) for a, b in pairs.tolist()}) == len(pairs)  # distinct
    if n * (n - 1) // 2 > 8 * n:
        assert len(pairs) == 4 * n  # enough untied pairs exist: the budget is filled


def test_unknown_loss_is_a_clear_error():
    assert set(LOSSES) == {"mse", "hinge", "bce", "comparator", "listmle"}
    with pytest.raises(InvalidOption, match="listmle"):
        get_loss("ranknet")
