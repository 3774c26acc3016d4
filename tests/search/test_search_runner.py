"""The runner: budgets, no repeats, exact resume after an interruption, parallel seeds."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd
import pytest

from conftest import shared_file
from selfnas.benchmarks.base import Benchmark, Record
from selfnas.errors import InvalidOption, ResumeMismatch
from selfnas.runs import RunDir
from selfnas.search.base import DiscreteStrategy, Options
from selfnas.search.problem import Problem, ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun, StrategyError, run_tasks


@pytest.fixture(scope="module")
def spec() -> ProblemSpec:
    table = shared_file("nb201/nb201_200ep_cifar10.csv")
    return ProblemSpec("nb201", "nb201", {"tables": [str(table)]}, metric="cifar10_test")


@pytest.fixture(scope="module")
def problem(spec) -> Problem:
    return build_problem(spec)


class Interrupted(Exception):
    pass


def _interrupt_after(tells: int):
    def hook(run: SeedRun) -> None:
        if len(run.rows) >= tells:
            raise Interrupted

    return hook


def test_rows_are_tidy_and_consistent(problem):
    frame = SeedRun(problem, "re", {"population": 10, "sample": 3}, 4, Budget(40)).run()
    assert list(frame["step"]) == list(range(1, 41))
    assert frame["arch"].is_unique
    assert (frame["best_value"] == frame["value"].cummax()).all()
    assert np.allclose(frame["regret"], problem.optimum - frame["best_test"])
    assert problem.optimum == pytest.approx(94.373333)
    best = frame.iloc[-1]
    assert best["rank"] == 1 + int((problem.test_values > best["best_test"]).sum())


@pytest.mark.parametrize("strategy", ["random", "re", "ls"])
def test_resume_ends_where_the_uninterrupted_run_ends(problem, tmp_path, strategy):
    whole = SeedRun(problem, strategy, {}, 7, Budget(60)).run()
    run_dir = RunDir(tmp_path)
    with pytest.raises(Interrupted):
        SeedRun(problem, strategy, {}, 7, Budget(60), run_dir).run(_interrupt_after(25))
    assert run_dir.load_checkpoint(strategy, 7) is not None
    resumed = SeedRun(problem, strategy, {}, 7, Budget(60), run_dir)
    assert 25 <= len(resumed.rows) < 60
    pd.testing.assert_frame_equal(resumed.run(), whole)
    assert not run_dir.checkpoint_path(strategy, 7).exists()


def test_seeds_differ_and_repeat(problem):
    a = SeedRun(problem, "random", {}, 1, Budget(20)).run()
    b = SeedRun(problem, "random", {}, 1, Budget(20)).run()
    c = SeedRun(problem, "random", {}, 2, Budget(20)).run()
    pd.testing.assert_frame_equal(a, b)
    assert list(a["arch"]) != list(c["arch"])


class _Repeater(DiscreteStrategy):
    """A broken strategy that asks for its first arch again."""

    name = "random"
    options_class = Options

    def ask(self):
        if not hasattr(self, "first"):
            self.first = self.random_new(1)
            return self.first
        return list(self.first)

    def tell(self, archs, values):
        return None


def test_a_repeated_ask_is_caught(problem, monkeypatch):
    import selfnas.search.runner as runner

    monkeypatch.setattr(runner, "strategy_class", lambda name: _Repeater)
    with pytest.raises(StrategyError, match="already"):
        SeedRun(problem, "random", {}, 0, Budget(10)).run()


class _Timed(Benchmark):
    """NB201 with a simulated training time per arch (100 s + 10 s per conv op)."""

    name = "timed"

    def __init__(self, inner: Benchmark) -> None:
        self.inner = inner
        self.space = inner.space

    @property
    def datasets(self):
        return self.inner.datasets

    def metrics(self, dataset=None):
        return self.inner.metrics(dataset)

    def key(self, arch: Hashable) -> str:
        return self.inner.key(arch)

    def table(self, dataset=None):
        return self.inner.table(dataset)

    def query(self, arch, dataset=None, metric=None, fidelity=None) -> Record:
        record = self.inner.query(arch, dataset, metric, fidelity)
        seconds = 100.0 + 10.0 * self.space.format(arch).count("conv")
        return Record(record.key, record.metrics, seconds)


def test_seconds_budget_stops_once_spent(problem):
    timed = Problem(problem.space, _Timed(problem.benchmark), metric="cifar10_test")
    frame = SeedRun(timed, "ls", {}, 0, Budget(seconds=3000.0)).run()
    assert frame["seconds"].iloc[-2] < 3000.0 <= frame["seconds"].iloc[-1]
    assert frame["seconds"].is_monotonic_increasing


def test_seconds_budget_needs_a_timed_benchmark(problem):
    with pytest.raises(InvalidOption, match="no training seconds"):
        SeedRun(problem, "random", {}, 0, Budget(seconds=10.0)).run()


def test_budget_is_validated():
    with pytest.raises(InvalidOption):
        Budget()
    with pytest.raises(InvalidOption):
        Budget(queries=0)


def test_parallel_workers_match_serial_and_resume(spec, tmp_path):
    strategies = {"re": {"population": 10, "sample": 3}, "ls": {}}
    serial = run_tasks(spec, strategies, range(3), Budget(30), tmp_path / "a", workers=1)
    parallel = run_tasks(spec, strategies, range(3), Budget(30), tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert len(serial) == 2 * 3 * 30
    assert (tmp_path / "b" / "results.parquet").is_file()
    assert (tmp_path / "b" / "results.csv").is_file()
    again = run_tasks(spec, strategies, range(3), Budget(30), tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(again, parallel)
    with pytest.raises(ResumeMismatch):
        run_tasks(spec, strategies, range(3), Budget(31), tmp_path / "b", workers=1)


_KILLED_SCRIPT = """
import sys, time
from selfnas.runs import RunDir
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun

table, out = sys.argv[1], sys.argv[2]
spec = ProblemSpec("nb201", "nb201", {"tables": [table]}, metric="cifar10_test")
run = SeedRun(build_problem(spec), "re", {"population": 10, "sample": 3}, 11, Budget(150),
              RunDir(out))
run.run(lambda r: time.sleep(0.02))  # slow enough to be killed part-way
"""


def test_resume_after_kill_9_of_a_real_process(problem, tmp_path):
    """A search process killed with SIGKILL mid-run resumes to exactly the rows of an
    uninterrupted run (checkpoints are replaced atomically, so a kill mid-write leaves at
    most a stray temporary file, never a torn checkpoint)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    table = problem.spec.benchmark_options["tables"][0]
    run_dir = RunDir(tmp_path / "killed")
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SCRIPT, table, str(run_dir.root)],
        env={**os.environ, "SELFNAS_THREADS": "1"},
    )
    checkpoint = run_dir.checkpoint_path("re", 11)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not run_dir.seed_done("re", 11), "the process finished before it was killed"
    options = {"population": 10, "sample": 3}
    resumed = SeedRun(problem, "re", options, 11, Budget(150), run_dir)
    assert 0 < len(resumed.rows) < 150
    whole = SeedRun(problem, "re", options, 11, Budget(150)).run()
    pd.testing.assert_frame_equal(resumed.run(), whole)


def test_search_and_compare_commands(spec, tmp_path, capsys):
    import json

    from selfnas.cli import main

    table = spec.benchmark_options["tables"][0]
    common = [
        "--benchmark",
        "nb201",
        "--table",
        table,
        "--metric",
        "cifar10_test",
        "--budget",
        "30",
        "--workers",
        "1",
    ]
    out = tmp_path / "ls"
    assert (
        main(["search", *common, "--strategy", "ls", "--seeds", "3", "--out", str(out), "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    for key in (
        "median_queries_to_optimum",
        "found_optimum_fraction",
        "mean_test_regret",
        "std_test_regret",
    ):
        assert key in summary
    assert summary["seeds"] == 3
    assert summary["median_queries_to_optimum"] is None  # 30 queries rarely find it
    frame = pd.read_parquet(out / "results.parquet")
    assert len(frame) == 90 and set(frame["seed"]) == {0, 1, 2}

    cmp_dir = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                *common,
                "--strategies",
                "random,re",
                "--seeds",
                "4",
                "--seeds-for",
                "re=2",
                "--option",
                "re.population=5",
                "--option",
                "re.sample=2",
                "--out",
                str(cmp_dir),
                "--json",
            ]
        )
        == 0
    )
    both = json.loads(capsys.readouterr().out)
    assert both["random"]["seeds"] == 4 and both["re"]["seeds"] == 2
    text = (cmp_dir / "comparison.md").read_text()
    assert text.startswith("selfnas ") and "| re | 2 |" in text
    assert json.loads((cmp_dir / "timing.json").read_text())["workers"] == 1
    assert (cmp_dir / "regret.png").stat().st_size > 1000
    curves = pd.read_csv(cmp_dir / "curves.csv")
    assert set(curves["strategy"]) == {"random", "re"} and curves["queries"].max() == 30
    assert (
        main(
            [
                "compare",
                *common,
                "--strategies",
                "random",
                "--seeds",
                "2",
                "--seeds-for",
                "ls=1",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )
