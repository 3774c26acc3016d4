"""NAO's search as published: the ascent grows its step until a round is full, random archs
fill a round only on request (`fill="random"`) or when the bounded ascent finds nothing,
and the strategy reports per round what it decoded and what it filled.

The ascent needs a controller that decodes valid cells: a freshly initialised one decodes
none on NAS-Bench-201 (measured), so the tests that exercise it pretrain one (~3,750
iterations of `selfnas pretrain nao` at batch 16, where it reconstructs every held-out
cell) and search with `step_size=10` to keep the ascent short. The tests of the bound and
the fallbacks replace the decoder with a scripted one instead.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from conftest import search_cut_and_resumed, shared_file
from selfnas.errors import InvalidOption
from selfnas.search.nao import INVALID_STEPS, NAOSearch
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun

pytestmark = pytest.mark.usefixtures("one_thread")

#: the small search of these tests: 16 random archs, then rounds of 4
SMALL = {"init": 16, "per_epoch": 4, "seeds": 16, "train_epochs": 2}


@pytest.fixture(scope="module")
def problem():
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    spec = ProblemSpec("nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test")
    return build_problem(spec)


@pytest.fixture(scope="module")
def controller(tmp_path_factory) -> str:
    """A pretrained NAO controller's run directory (it decodes valid, faithful cells)."""
    from selfnas.reproduce.common import pretrain

    out = tmp_path_factory.mktemp("nao-pretrained")
    run = pretrain("nao", "nb201", out, epochs=250, subset=256, validity_samples=100,
                   options={"batch_size": 16})  # fmt: skip
    accuracy = run.final["reconstruction_accuracy"]
    assert accuracy >= 0.9, f"the test controller did not learn to reconstruct ({accuracy})"
    return str(out)


def _pretrained(controller: str, **changes) -> dict:
    return {**SMALL, "controller": controller, "step_size": 10.0, **changes}


def _totals(report: dict) -> int:
    return sum(r["decoded"] + r["filled"] for r in report["rounds"])


@pytest.mark.slow
def test_fill_none_fills_every_round_by_ascent(problem, controller):
    # the published step size: the ascent decodes only its seeds' own (seen) archs for many
    # steps before new ones appear, and must not stop there
    run = SeedRun(problem, "nao", _pretrained(controller, step_size=1.0), 0, Budget(40))
    frame = run.run()
    assert len(frame) == 40 and frame["arch"].is_unique
    report = run.strategy.report()
    assert [r["round"] for r in report["rounds"]] == [1, 2, 3, 4, 5, 6]
    assert all(r["decoded"] + r["filled"] == 4 for r in report["rounds"])
    assert report["decoded"] + report["filled"] == _totals(report) == 40 - 16
    # the ascent fills every round itself: no random arch after the initial ones
    assert report["decoded"] == 24 and report["filled"] == 0
    assert all(r["max_step"] >= 1 for r in report["rounds"])
    # and it needs step sizes beyond the old bound (100) and beyond the invalid-run stop
    assert max(r["max_step"] for r in report["rounds"]) > max(100, INVALID_STEPS)


@pytest.mark.slow
def test_fill_random_completes_short_rounds(problem, controller):
    # one step: the controller decodes the seeds themselves, which are all seen
    options = _pretrained(controller, fill="random", max_steps=1)
    run = SeedRun(problem, "nao", options, 0, Budget(40))
    frame = run.run()
    assert len(frame) == 40 and frame["arch"].is_unique
    report = run.strategy.report()
    assert all(r["decoded"] + r["filled"] == 4 for r in report["rounds"])
    assert _totals(report) == 24 and report["filled"] > 0
    assert all(r["max_step"] <= 1 for r in report["rounds"])


@pytest.mark.slow
def test_resumes_exactly_with_its_report(problem, controller, tmp_path):
    options = _pretrained(controller)
    whole_run, whole, resumed = search_cut_and_resumed(
        problem, "nao", options, 5, 30, tmp_path, cut=20
    )
    assert len(resumed.rows) == 20 and len(resumed.strategy.report()["rounds"]) == 1
    pd.testing.assert_frame_equal(resumed.run(), whole)
    assert resumed.strategy.report() == whole_run.strategy.report()


def _scripted(run: SeedRun, new_per_step: int):
    """Make `run`'s controller decode `new_per_step` never-seen archs per ascent step (the
    rest invalid), counting the steps."""
    strategy = run.strategy
    assert isinstance(strategy, NAOSearch)
    archs = iter(run.problem.archs)
    steps = itertools.count(1)
    calls = {"steps": 0}

    def decode(moved):
        calls["steps"] = next(steps)
        fresh = []
        while len(fresh) < new_per_step:
            arch = next(archs)
            if strategy.is_new(arch):
                fresh.append(arch)
        return fresh + [None] * (len(moved) - len(fresh))

    strategy.controller.decode = decode
    return calls


def test_bound_asks_only_what_the_ascent_found(problem):
    # 2 steps of 1 new arch: each round asks 2; the budget cuts the last round to 1
    options = {**SMALL, "train_epochs": 1, "max_steps": 2}
    run = SeedRun(problem, "nao", options, 0, Budget(16 + 2 * 3 + 1))
    _scripted(run, new_per_step=1)
    frame = run.run()
    assert len(frame) == 23 and frame["arch"].is_unique
    report = run.strategy.report()
    assert [(r["decoded"], r["filled"], r["max_step"]) for r in report["rounds"]] == [
        (2, 0, 2), (2, 0, 2), (2, 0, 2), (1, 0, 2)
    ]  # fmt: skip
    assert report["decoded"] == 7 and report["filled"] == 0

    run = SeedRun(problem, "nao", {**options, "fill": "random"}, 0, Budget(16 + 4 + 3))
    _scripted(run, new_per_step=1)
    assert len(run.run()) == 23
    report = run.strategy.report()
    assert [(r["decoded"], r["filled"]) for r in report["rounds"]] == [(2, 2), (2, 1)]
    assert report["decoded"] == 4 and report["filled"] == 3


def test_an_empty_ascent_widens_its_seeds_then_fills_randomly(problem):
    options = {**SMALL, "train_epochs": 1, "seeds": 8, "max_steps": 3}
    run = SeedRun(problem, "nao", options, 0, Budget(16 + 4 * 3))
    calls = _scripted(run, new_per_step=0)
    frame = run.run()
    assert len(frame) == 28 and frame["arch"].is_unique  # the search never stalls
    assert calls["steps"] == 3 * (3 + 3)  # per round: the 8 best, then the whole pool
    report = run.strategy.report()
    assert [(r["decoded"], r["filled"], r["max_step"]) for r in report["rounds"]] == [(0, 4, 0)] * 3
    assert report == {"rounds": report["rounds"], "decoded": 0, "filled": 12}


def test_init_archs_are_not_counted_as_filled(problem):
    run = SeedRun(problem, "nao", SMALL, 0, Budget(16))
    assert len(run.run()) == 16
    assert run.strategy.report() == {"rounds": [], "decoded": 0, "filled": 0}


def test_invalid_fill_lists_the_choices(problem):
    with pytest.raises(InvalidOption, match="fill must be one of none, random"):
        SeedRun(problem, "nao", {"fill": "bogus"}, 0, Budget(5))
