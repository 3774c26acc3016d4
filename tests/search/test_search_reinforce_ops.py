"""REINFORCE over a space's categorical decisions (the NB201 paper's RL baseline, the NB101
paper's REINFORCE): on real NB201 CIFAR-10 data, and on every space with a synthetic reward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from conftest import search_cut_and_resumed, shared_file
from selfnas.errors import InvalidOption
from selfnas.search.base import SearchContext
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.reinforce_ops import OpReinforce, OpReinforceOptions
from selfnas.search.runner import Budget, SeedRun
from selfnas.spaces import get_space
from selfnas.spaces.nb201 import NB201Space

SPACES = ["nb101", "nb201", "darts", "nbgraph"]


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
    probs = run.strategy.probabilities()
    # `none` (op 0) cuts information flow and scores worst on CIFAR-10: it must lose mass
    assert probs[:, 0].mean() < 0.2 - 0.02


def test_resume_is_exact(problem, tmp_path):
    _, whole, resumed = search_cut_and_resumed(problem, "reinforce", {}, 4, 30, tmp_path, cut=12)
    pd.testing.assert_frame_equal(resumed.run(), whole)


def test_a_space_without_choices_gets_a_clear_error():
    class Opaque(NB201Space):
        @property
        def choices(self) -> None:
            return None

    with pytest.raises(InvalidOption, match=r"categorical choices.*use rl, re or ls"):
        OpReinforce(SearchContext(Opaque()), np.random.default_rng(0), OpReinforceOptions())


def _space(name):
    if name == "nbgraph":
        pytest.importorskip("nas_bench_graph", reason="NAS-Bench-Graph needs its package")
    return get_space(name)


def _rewarded(space):
    """The decisions the synthetic reward reads: those of more than two options (so not
    NB101's edge bits, whose option 0 everywhere would leave no valid cell to draw)."""
    return np.array(space.choices) > 2


def _zeros_reward(space, arch):
    """Synthetic reward: how many rewarded decisions spell `arch` with option 0."""
    choice = np.array(space.to_choices(arch))
    return float((choice[_rewarded(space)] == 0).sum())


def _drive(space, budget, seed=0, **options):
    """The runner's loop on a bare context (no benchmark): ask, check, tell."""
    strategy = OpReinforce(
        SearchContext(space), np.random.default_rng(seed), OpReinforceOptions(**options)
    )
    keys: list[str] = []
    while len(keys) < budget:
        archs = strategy.ask()
        assert len(archs) == 1 and space.hash(archs[0]) not in keys
        keys.append(space.hash(archs[0]))
        strategy.tell(archs, [_zeros_reward(space, archs[0])])
    return strategy, keys


@pytest.mark.parametrize("name", SPACES)
def test_spends_a_full_budget_on_every_space_without_requerying(name):
    space = _space(name)
    strategy, keys = _drive(space, 40)
    assert len(set(keys)) == 40 and strategy.updates >= 40
    probs = strategy.probabilities()
    assert probs.shape == (len(space.choices), max(space.choices))
    for row, n in zip(probs, space.choices, strict=True):
        assert np.all(row[n:] == 0) and row[:n].sum() == pytest.approx(1)


@pytest.mark.parametrize("name", SPACES)
def test_policy_learns_a_synthetic_reward_on_every_space(name):
    space = _space(name)
    # few redraws: once NB101's edge bits settle (the reward ignores them) most draws are
    # cells already seen, and the random fallback keeps the test short
    strategy, _ = _drive(space, 80, lr=0.05, max_resamples=20)
    rewarded = _rewarded(space)
    first = strategy.probabilities()[rewarded, 0]
    uniform = 1 / np.array(space.choices)[rewarded]
    assert first.mean() > uniform.mean() + 0.1


def test_nbgraph_through_its_benchmark():
    pytest.importorskip("nas_bench_graph", reason="NAS-Bench-Graph needs its package")
    spec = ProblemSpec("nbgraph", "nbgraph", {}, dataset="cora", metric="val_accuracy")
    frame = SeedRun(build_problem(spec), "reinforce", {}, 0, Budget(30)).run()
    assert len(frame) == 30 and frame["arch"].is_unique


def test_invalid_combinations_are_drawn_again_without_a_query():
    space = get_space("nb101")
    strategy = OpReinforce(
        SearchContext(space), np.random.default_rng(0), OpReinforceOptions(max_resamples=50)
    )
    edges = 21
    with torch.no_grad():  # every edge almost surely present: > 9 edges, no valid cell
        strategy.logits[:edges, 1] = 30.0
    (arch,) = strategy.ask()  # the random fallback after 50 invalid draws
    assert strategy.updates == 0 and arch is not None and space.hash(arch) in strategy.visited
    strategy.tell([arch], [1.0])
    assert strategy.updates == 1


def test_a_seen_arch_is_rewarded_with_its_recorded_value_for_free():
    space = get_space("nb201")
    strategy = OpReinforce(
        SearchContext(space), np.random.default_rng(0), OpReinforceOptions(max_resamples=5)
    )
    with torch.no_grad():  # the policy all but certain of one cell
        strategy.logits[:, 0] = 30.0
    (first,) = strategy.ask()
    assert space.to_choices(first) == (0,) * 6
    strategy.tell([first], [0.5])
    (second,) = strategy.ask()  # five draws of the measured cell, then a random new one
    assert second != first and strategy.updates == 1 + 5
    assert strategy.baseline == pytest.approx(0.5)
