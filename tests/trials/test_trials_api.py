"""The user's own evaluate(arch) drives every strategy: results, the store, retries."""

from __future__ import annotations

import math

import pytest

import selfnas
from selfnas.errors import InvalidOption
from selfnas.spaces import get_space
from selfnas.trials.store import DONE, FAILED, TrialStore


def conv_score(cell) -> float:
    """A deterministic stand-in for training: more 3x3 convolutions score higher."""
    return float(sum(op == "nor_conv_3x3" for op in cell.ops)) + 0.01 * cell.ops.count("none")


def test_optimize_returns_the_best_of_what_it_evaluated(tmp_path):
    result = selfnas.optimize(conv_score, space="nb201", strategy="re", budget=30, out=tmp_path)
    assert len(result.history) == 30
    assert result.history["arch"].nunique() == 30
    assert result.best_value == max(result.history["value"])
    assert result.best_value == conv_score(result.best_arch)
    space = get_space("nb201")
    assert space.format(result.best_arch) in set(result.history["arch"])
    # the running best never falls
    assert result.history["best_value"].is_monotonic_increasing


def test_rerun_evaluates_nothing_again(tmp_path):
    calls: list[str] = []

    def counted(cell) -> float:
        calls.append(str(cell))
        return conv_score(cell)

    first = selfnas.optimize(counted, strategy="random", budget=12, out=tmp_path, name="c")
    assert len(calls) == 12
    again = selfnas.optimize(counted, strategy="random", budget=12, out=tmp_path, name="c")
    assert len(calls) == 12, "a finished evaluation ran again"
    assert list(again.history["arch"]) == list(first.history["arch"])
    trials = TrialStore(tmp_path / "trials").all()
    assert len(trials) == 12 and all(t.attempts == 1 and t.status == DONE for t in trials)


def test_a_failing_evaluation_is_retried_then_recorded_and_the_search_goes_on(tmp_path):
    attempts: dict[str, int] = {}

    def flaky(cell) -> float:
        text = str(cell)
        attempts[text] = attempts.get(text, 0) + 1
        if cell.ops[0] == "none":
            raise RuntimeError("CUDA out of memory (simulated)")
        if cell.ops[0] == "skip_connect" and attempts[text] == 1:
            raise RuntimeError("transient")
        return conv_score(cell)

    result = selfnas.optimize(
        flaky, strategy="random", budget=25, out=tmp_path, max_attempts=2, seed=3
    )
    assert len(result.history) == 25
    by_arch = {t.arch: t for t in TrialStore(tmp_path / "trials").all()}
    failed = [t for t in by_arch.values() if t.status == FAILED]
    retried = [t for t in by_arch.values() if t.status == DONE and t.attempts == 2]
    assert failed and retried, "the seed should draw both kinds of cell"
    for trial in failed:
        assert trial.attempts == 2 and attempts[trial.arch] == 2
        assert trial.reason == "RuntimeError: CUDA out of memory (simulated)"
    values = dict(zip(result.history["arch"], result.history["value"], strict=True))
    assert all(values[t.arch] == 0.0 for t in failed)


def test_a_nan_result_is_a_failed_trial(tmp_path):
    result = selfnas.optimize(
        lambda cell: math.nan if cell.ops[5] == "none" else 1.0,
        strategy="random",
        budget=15,
        out=tmp_path,
        max_attempts=1,
    )
    failed = [t for t in TrialStore(tmp_path / "trials").all() if t.status == FAILED]
    assert failed and all("non-finite" in t.reason for t in failed)
    assert len(result.history) == 15


def test_a_cost_metric_is_minimised(tmp_path):
    result = selfnas.optimize(
        lambda cell: {"loss": conv_score(cell)}, metric="loss", strategy="re", budget=20
    )
    assert result.best_value == min(result.history["value"])


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidOption, match="callable"):
        selfnas.optimize(3.0, budget=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="backend"):
        selfnas.optimize(conv_score, budget=2, backend="spark")
    with pytest.raises(InvalidOption, match="unknown strategy"):
        selfnas.optimize(conv_score, budget=2, strategy="annealing")
