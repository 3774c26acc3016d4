"""Every strategy: never re-queries, respects its budget, resumes exactly, and beats random
search on real NAS-Bench-201 CIFAR-10 data over enough seeds to be significant.

The embedding strategies run here on a plain one-hot encoding of the six edge ops (a real,
if unlearned, embedding of every NB201 cell), so these tests need no pretraining.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import search_cut_and_resumed, shared_file
from selfnas.errors import InvalidOption
from selfnas.search.base import STRATEGIES, default_options, make_options, strategy_class
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun

#: fast settings for the torch-heavy strategies (same code paths, fewer epochs)
FAST = {
    "bo": {"epochs": 20},
    "nao": {"init": 16, "per_epoch": 8, "seeds": 16, "train_epochs": 2, "max_steps": 5},
    "gates-ea": {"epochs": 15, "candidates": 128},
}
TABULAR = ["random", "re", "ls", "rl", "bo", "bo-gp", "nao", "gates-ea"]


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    spec = ProblemSpec("nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test")
    base = build_problem(spec)
    archs = base.archs
    onehot = np.zeros((len(archs), 30), dtype=np.float32)
    ops = np.array([a.op_indices for a in archs])
    onehot[np.arange(len(archs))[:, None], np.arange(6) * 5 + ops] = 1.0
    path = tmp_path_factory.mktemp("emb") / "onehot.npz"
    hashes = np.array([base.space.hash(a) for a in archs])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(archs))  # the file's row order need not be the space's
    np.savez(path, hashes=hashes[order], embeddings=onehot[order])
    return build_problem(
        ProblemSpec(
            "nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test", embedding=str(path)
        )
    )


def _run(problem, name, seed, budget, run_dir=None, options=None):
    options = FAST.get(name, {}) if options is None else options
    return SeedRun(problem, name, options, seed, Budget(budget), run_dir)


@pytest.mark.parametrize("name", TABULAR)
def test_never_requeries_and_spends_exactly_its_budget(problem, name):
    frame = _run(problem, name, 3, 37).run()
    assert len(frame) == 37
    assert frame["arch"].is_unique
    assert list(frame["step"]) == list(range(1, 38))


@pytest.mark.parametrize("name", ["rl", "bo", "bo-gp", "nao", "gates-ea"])
def test_torch_strategies_resume_exactly(problem, tmp_path, name):
    _, whole, resumed = search_cut_and_resumed(
        problem, name, FAST.get(name, {}), 5, 30, tmp_path, cut=20
    )
    pd.testing.assert_frame_equal(resumed.run(), whole)


#: (strategy, seeds, budget): enough seeds for a one-sided Mann-Whitney test at 5 %
BEATS = [
    ("re", 16, 60),
    ("ls", 16, 60),
    ("rl", 24, 100),
    ("bo", 10, 60),
    ("bo-gp", 6, 40),
    ("gates-ea", 6, 40),
]
#: the beats-random settings where they differ from FAST (RE's default population of 50
#: would be mostly random archs within 60 queries)
BEAT_OPTIONS = {"re": {"population": 10, "sample": 3}}


_RANDOM: dict[tuple[int, int], np.ndarray] = {}


def _final_regrets(problem, name, seeds, budget, options=None):
    return np.array(
        [
            _run(problem, name, seed, budget, options=options).run()["regret"].iloc[-1]
            for seed in range(seeds)
        ]
    )


@pytest.mark.parametrize(("name", "seeds", "budget"), BEATS)
def test_beats_random_search(problem, name, seeds, budget):
    if (seeds, budget) not in _RANDOM:
        _RANDOM[seeds, budget] = _final_regrets(problem, "random", seeds, budget)
    baseline = _RANDOM[seeds, budget]
    options = {**FAST.get(name, {}), **BEAT_OPTIONS.get(name, {})}
    ours = _final_regrets(problem, name, seeds, budget, options)
    assert ours.mean() < baseline.mean()
    assert stats.mannwhitneyu(ours, baseline, alternative="less").pvalue < 0.05


def test_every_strategy_documents_its_defaults():
    for name in TABULAR:
        assert strategy_class(name).name == name
        defaults = default_options(name)
        assert make_options(strategy_class(name), {k: str(v) for k, v in defaults.items()})
    assert default_options("re") == {"population": 50, "sample": 10, "mutation_tries": 50}
    assert default_options("bo")["init"] == 16 and default_options("bo")["batch"] == 5
    assert set(STRATEGIES) >= {"random", "re", "ls", "rl", "bo", "bo-gp", "nao", "gates-ea"}


def test_bad_options_are_clear(problem):
    with pytest.raises(InvalidOption, match="no option"):
        SeedRun(problem, "re", {"populaton": 3}, 0, Budget(5))
    with pytest.raises(InvalidOption, match="expected int"):
        SeedRun(problem, "re", {"population": "many"}, 0, Budget(5))
    with pytest.raises(InvalidOption, match="sample"):
        SeedRun(problem, "re", {"population": 3, "sample": 5}, 0, Budget(5))


def test_gates_ea_starts_its_predictor_from_a_self_supervised_encoder(problem, tmp_path):
    """`--pretrained DIR` of an arch2vec run with the GATES encoder: every round's
    predictor starts from those label-free weights; another encoder is refused clearly."""
    import torch

    from selfnas.reproduce.common import pretrain
    from selfnas.search.base import SearchContext

    run_dir = tmp_path / "a2v-gates"
    pretrain("arch2vec", "nb201", run_dir, epochs=1, subset=512, validity_samples=100,
             options={"encoder": "gates"})  # fmt: skip
    saved = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    encoder_weights = {k[len("encoder."):]: v for k, v in saved["model"].items()
                       if k.startswith("encoder.")}  # fmt: skip
    ctx = SearchContext(problem.space, problem, None, str(run_dir))
    cls = strategy_class("gates-ea")
    strategy = cls(ctx, np.random.default_rng(0), make_options(cls, FAST["gates-ea"]))
    network = strategy.network()
    for name, value in network.encoder.state_dict().items():
        torch.testing.assert_close(value, encoder_weights[name])

    frame = SeedRun(problem, "gates-ea", FAST["gates-ea"], 0, Budget(30), ctx=ctx).run()
    assert len(frame) == 30 and frame["arch"].is_unique

    gin = make_options(cls, {**FAST["gates-ea"], "encoder": "gin"})
    with pytest.raises(InvalidOption, match="another encoder configuration"):
        cls(ctx, np.random.default_rng(0), gin).network()
