"""Ranking metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from selfnas.errors import InvalidOption
from selfnas.metrics import (
    kendall_tau,
    n_at_k,
    precision_at_k,
    rank_of,
    ranking_report,
    regret,
    spearman,
    true_ranks,
)

# true accuracies of 6 archs (best: index 2) and a predictor's scores
TRUE = np.array([90.0, 85.0, 94.0, 70.0, 88.0, 60.0])
# predicted order: 0 > 2 > 4 > 1 > 5 > 3 (two archs, 3 and 5, swapped; 0 and 2 swapped)
PRED = np.array([6.0, 3.0, 5.0, 1.0, 4.0, 2.0])


def test_kendall_and_spearman_by_hand():
    # 15 pairs; discordant: (0,2), (3,5) -> tau = (13 - 2) / 15
    assert kendall_tau(PRED, TRUE) == pytest.approx(11 / 15)
    # true ranks 2,4,1,5,3,6 vs predicted ranks 1,4,2,6,3,5 -> sum d^2 = 1+0+1+1+0+1 = 4
    assert spearman(PRED, TRUE) == pytest.approx(1 - 6 * 4 / (6 * 35))
    assert kendall_tau(TRUE, TRUE) == pytest.approx(1.0)
    assert kendall_tau(-TRUE, TRUE) == pytest.approx(-1.0)


def test_true_ranks_and_rank_of():
    assert true_ranks(TRUE).tolist() == [2, 4, 1, 5, 3, 6]
    assert true_ranks([5.0, 7.0, 7.0, 1.0]).tolist() == [3, 1, 1, 4]  # ties share the best
    assert rank_of(94.0, TRUE) == 1
    assert rank_of(89.0, TRUE) == 3  # below 94 and 90
    assert rank_of(50.0, TRUE) == 7


def test_n_at_k_is_the_best_true_rank_among_the_predicted_top_k():
    assert n_at_k(PRED, TRUE, 1) == 2  # top predicted is arch 0, true rank 2
    assert n_at_k(PRED, TRUE, 2) == 1  # arch 2 (the true best) is second
    assert n_at_k(-TRUE, TRUE, 2) == 5  # a reversed predictor finds ranks 6 and 5
    assert n_at_k(PRED, TRUE, 0.5) == 1  # a fraction: top 3


def test_precision_at_k_counts_and_fractions():
    # predicted top 3: {0, 2, 4}; true top 3: {2, 0, 4} -> 1.0
    assert precision_at_k(PRED, TRUE, 3) == 1.0
    # predicted top 2: {0, 2}; true top 2: {2, 0} -> 1.0; top 4: {0,2,4,1} vs {2,0,4,1}
    assert precision_at_k(PRED, TRUE, 4) == 1.0
    # predicted top 5 includes 5 instead of 3 -> true top 5 is {2,0,4,1,3}: 4/5
    assert precision_at_k(PRED, TRUE, 5) == pytest.approx(4 / 5)
    assert precision_at_k(-TRUE, TRUE, 1 / 3) == 0.0  # a fraction: 2 of 6


def test_regret_and_report():
    assert regret(90.0, TRUE) == pytest.approx(4.0)
    report = ranking_report(PRED, TRUE)
    assert report["regret_top1"] == pytest.approx(4.0)  # picks arch 0 (90 %)
    assert report["n_at_5"] == 1 and report["kendall_tau"] == pytest.approx(11 / 15)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(InvalidOption):
        kendall_tau([1.0, 2.0], [1.0])
    with pytest.raises(InvalidOption):
        n_at_k(PRED, TRUE, 0)
    with pytest.raises(InvalidOption):
        n_at_k(PRED, TRUE, 2.5)
