"""Every strategy on every space: NB101 through a user's partial table (searched as the
table's subset of the space), NB201, DARTS through the NB301 surrogate (embedding searches
on a pool the pretrained encoder embeds on the fly) and NAS-Bench-Graph.

Each space gets a real, if tiny, arch2vec pretraining run, so `rl`, `bo` and `bo-gp` embed
their candidates with a trained encoder exactly as a user's search does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import search_cut_and_resumed, shared_file
from selfnas.errors import InvalidOption
from selfnas.runs import RunDir
from selfnas.search.base import STRATEGIES, strategy_class
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun

pytestmark = pytest.mark.usefixtures("one_thread")

#: small settings of the torch-heavy strategies (same code paths)
FAST = {
    "rl": {"episode": 4},
    "bo": {"init": 8, "epochs": 10},
    "bo-gp": {"init": 8, "fit_iters": 10},
    "nao": {"init": 8, "per_epoch": 4, "seeds": 8, "train_epochs": 2, "max_steps": 20},
    "gates-ea": {"init": 8, "k": 4, "epochs": 3, "candidates": 32, "encoder_from": "none"},
    "re": {"population": 8, "sample": 3},
}
SPACES = ["nb101", "nb201", "darts", "nbgraph"]
BUDGET = 24


def _spec(space: str, pretrained: str, **extra) -> ProblemSpec:
    if space == "nb101":
        table = shared_file("nb101/nb101_val500.json")
        return ProblemSpec("nb101", "nb101", {"path": str(table)}, pretrained=pretrained, **extra)
    if space == "nb201":
        table = shared_file("nb201/nb201_200ep_cifar10.csv")
        return ProblemSpec(
            "nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test",
            pretrained=pretrained, **extra,
        )  # fmt: skip
    if space == "darts":
        model = shared_file("nb301/yahpo_nb301_surrogate.onnx")
        return ProblemSpec(
            "nb301", "darts", {"model": str(model)}, pretrained=pretrained,
            pool=extra.pop("pool", 3000), pool_mutants=extra.pop("pool_mutants", 30), **extra,
        )  # fmt: skip
    pytest.importorskip("nas_bench_graph", reason="NAS-Bench-Graph needs its package")
    return ProblemSpec(
        "nbgraph", "nbgraph", {}, dataset="cora", metric="val_accuracy", pretrained=pretrained,
        **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A one-epoch arch2vec run per space (built on first use)."""
    from selfnas.reproduce.common import pretrain

    runs: dict[str, str] = {}

    def get(space: str) -> str:
        if space not in runs:
            out = tmp_path_factory.mktemp(f"a2v-{space}")
            sized = {"samples": 1024} if space == "darts" else {"subset": 512}
            pretrain("arch2vec", space, out, epochs=1, validity_samples=50, **sized)
            runs[space] = str(out)
        return runs[space]

    return get


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("space", SPACES)
def test_every_strategy_runs_on_every_space(space, strategy, pretrained):
    # the arch2vec run embeds for the embedding searches; nao and gates-ea start fresh
    embeds = strategy_class(strategy).needs_embeddings
    problem = build_problem(_spec(space, pretrained(space) if embeds else ""))
    frame = SeedRun(problem, strategy, FAST.get(strategy, {}), 1, Budget(BUDGET)).run()
    assert len(frame) == BUDGET
    assert frame["arch"].is_unique
    assert np.isfinite(frame["value"]).all()
    assert frame["best_value"].is_monotonic_increasing
    if space == "nb101":  # only cells the user's table can score were asked
        table_keys = set(problem.benchmark.table().keys)
        assert set(frame["arch"]) <= table_keys


def test_nb101_user_table_is_searched_as_its_subset(pretrained):
    problem = build_problem(_spec("nb101", pretrained("nb101")))
    assert problem.space.name == "nb101" and problem.space.enumerable
    assert problem.space.size == len(problem.benchmark.table()) == 292
    assert sorted(problem.keys) == sorted(problem.benchmark.table().keys)
    # the whole table, queried by any search, reaches the table's own optimum
    frame = SeedRun(problem, "random", {}, 0, Budget(292)).run()
    assert frame["regret"].iloc[-1] == 0.0 and frame["rank"].iloc[-1] == 1


def test_pool_grows_with_mutants_and_never_requeries(pretrained):
    problem = build_problem(_spec("darts", pretrained("darts"), pool=500, pool_mutants=20))
    run = SeedRun(problem, "bo", FAST["bo"], 0, Budget(40))
    frame = run.run()
    strategy = run.strategy
    report = strategy.report()
    assert len(strategy.candidates.archs) == 500 and report["added"] > 0
    assert len(strategy.matrix) == 500 + report["added"] == len(strategy.visited)
    # asked = queried, plus at most the rest of a last round the budget cut short
    assert 40 <= strategy.visited.sum() < 40 + 5 and frame["arch"].is_unique
    # an added candidate's embedding is the encoder's embedding of that arch
    arch = strategy.added[0]
    np.testing.assert_allclose(
        strategy.matrix[strategy.row_of(arch)],
        strategy.candidates.embed([arch])[0],
        rtol=1e-5,
        atol=1e-6,
    )


def test_pool_is_the_same_sample_for_every_seed(pretrained, monkeypatch):
    """The pool comes from its own seed, never a search's: every seed (in any process)
    searches the same candidates, and a larger pool extends a smaller one."""
    from selfnas.search import candidates

    problem = build_problem(_spec("darts", pretrained("darts")))
    first = candidates.candidates_for(problem, None, pretrained("darts"), 300, 10)
    problem.derived.clear()  # as a fresh worker process
    monkeypatch.setattr(candidates, "_EMBEDDERS", {})
    second = candidates.candidates_for(problem, None, pretrained("darts"), 301, 10)
    keys = [problem.benchmark.key(a) for a in first.archs]
    assert keys == [problem.benchmark.key(a) for a in second.archs][:300]
    assert len(set(keys)) == 300
    np.testing.assert_allclose(first.table.matrix, second.table.matrix[:300], rtol=1e-5)


@pytest.mark.parametrize("strategy", ["rl", "bo"])
def test_pool_searches_resume_exactly(strategy, pretrained, tmp_path):
    problem = build_problem(_spec("darts", pretrained("darts"), pool=400, pool_mutants=10))
    _, whole, resumed = search_cut_and_resumed(
        problem, strategy, FAST[strategy], 2, 30, tmp_path, cut=18
    )
    pd.testing.assert_frame_equal(resumed.run(), whole)
    assert RunDir(tmp_path).read_report(strategy, 2)["added"] > 0


def test_embedding_searches_say_what_they_need(pretrained, tmp_path):
    darts = build_problem(_spec("darts", ""))
    with pytest.raises(InvalidOption, match=r"--embedding FILE .* or --pretrained DIR"):
        SeedRun(darts, "bo", {}, 0, Budget(5))
    file_spec = _spec("darts", "", embedding=str(tmp_path / "emb.npz"))
    with pytest.raises(InvalidOption, match="too large: give --pretrained DIR"):
        SeedRun(build_problem(file_spec), "rl", {}, 0, Budget(5))
    wrong = build_problem(_spec("nb201", pretrained("darts")))
    with pytest.raises(InvalidOption, match="pretrained on 'darts'"):
        SeedRun(wrong, "bo", {}, 0, Budget(5))


def test_an_embedding_file_is_aligned_with_each_problem_of_one_space_name(tmp_path):
    """The whole NB201 space and a table's subset of it share the name "nb201" but index
    different archs: each gets the file's rows for its own archs."""
    from selfnas.benchmarks import get_benchmark
    from selfnas.search.embeddings import embeddings_for
    from selfnas.search.problem import Problem
    from selfnas.spaces.subset import SubsetSpace

    benchmark = get_benchmark("nb201", tables=[str(shared_file("nb201/nb201_200ep_cifar10.csv"))])
    whole = Problem(benchmark.space, benchmark)
    hashes = [whole.space.hash(a) for a in whole.archs]
    matrix = np.arange(len(hashes), dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    path = tmp_path / "emb.npz"
    np.savez(path, hashes=np.array(hashes), embeddings=matrix)
    part = Problem(SubsetSpace(whole.space, whole.archs[100:150][::-1]), benchmark)
    assert embeddings_for(whole, path).matrix[:, 0].tolist() == list(range(len(hashes)))
    rows = [hashes.index(part.space.hash(a)) for a in part.archs]
    assert embeddings_for(part, path).matrix[:, 0].tolist() == rows  # not the whole's rows
    assert embeddings_for(part, path) is embeddings_for(part, path)  # built once
