"""REINFORCE over NB201 op choices (the NB201 paper's RL baseline) on real CIFAR-10 data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import shared_file
from selfnas.errors import InvalidOption
from selfnas.runs import RunDir
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun


@pytest.fixture(scope="module")
def problem():
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    return build_problem(
        ProblemSpec("nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test")
    )


def _final_regret(problem, name, seed, budget, options=None):
    frame = SeedRun(problem, name, options or {}, seed, Budget(budget)).run()
    assert len(frame) == budget and frame["arch"].is_unique
    return frame["regret"].iloc[-1]


def test_never_requeries_spends_its_budget_and_beats_random(problem):
    # a higher learning rate than NATS-Bench's 0.01, so 120 queries are enough to learn
    ours = np.array([_final_regret(problem, "reinforce", s, 120, {"lr": 0.05}) for s in range(16)])
    random = np.array([_final_regret(problem, "random", s, 120) for s in range(16)])
    assert ours.mean() < random.mean()
    assert stats.mannwhitneyu(ours, random, alternative="less").pvalue < 0.05


def test_policy_moves_towards_rewarded_ops(problem):
    run = SeedRun(problem, "reinforce", {"lr": 0.05}, 0, Budget(200))
    run.run()
    probs = np.exp(run.strategy.logits.detach().numpy())
    probs /= probs.sum(axis=1, keepdims=True)
    # `none` (op 0) cuts information flow and scores worst on CIFAR-10: it must lose mass
    assert probs[:, 0].mean() < 0.2 - 0.02


def test_resume_is_exact(problem, tmp_path):
    whole = SeedRun(problem, "reinforce", {}, 4, Budget(30)).run()

    class Stop(Exception):
        pass

    def stop(run):
        if len(run.rows) >= 12:
            raise Stop

    with pytest.raises(Stop):
        SeedRun(problem, "reinforce", {}, 4, Budget(30), RunDir(tmp_path)).run(stop)
    resumed = SeedRun(problem, "reinforce", {}, 4, Budget(30), RunDir(tmp_path))
    pd.testing.assert_frame_equal(resumed.run(), whole)


def test_other_spaces_get_a_clear_error():
    spec = ProblemSpec("nbgraph", "nbgraph", {}, dataset="cora", metric="val_accuracy")
    with pytest.raises(InvalidOption, match="fixed op choices"):
        SeedRun(build_problem(spec), "reinforce", {}, 0, Budget(5))
