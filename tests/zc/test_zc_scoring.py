"""Scoring many archs: the shortcuts give the per-arch loop's numbers, the cache resumes an
interrupted run, `selfnas zc` writes its table and reruns for free, bad inputs are clear."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from selfnas.cli import main
from selfnas.errors import InvalidOption
from selfnas.spaces import get_space
from selfnas.zc import cache as cache_module
from selfnas.zc import scoring
from selfnas.zc.cache import ScoreCache, ScoreKey
from selfnas.zc.proxies import DATA_FREE, PROXIES, Proxy
from selfnas.zc.scoring import score_archs, score_plain

SMALL = {"channels": 4, "cells": 1, "batch_size": 8, "seed": 3, "device": "cpu"}
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


def _sample(n: int, seed: int = 0) -> list:
    """`n` NB201 cells plus, for the memo of params/flops, a permutation of the first
    one's ops (same multiset, other cell) and a repeat of the second."""
    space = get_space("nb201")
    everything = space.enumerate()
    picked = [everything[int(i)] for i in np.random.default_rng(seed).choice(15625, n, False)]
    permuted = type(picked[0])(tuple(reversed(picked[0].ops)))
    return [*picked, permuted, picked[1]]


def test_shortcuts_equal_the_per_arch_loop():
    archs = _sample(5)
    names = list(PROXIES)
    plain = score_plain("nb201", archs, names, **SMALL)
    ours = score_archs("nb201", archs, names, progress=False, **SMALL)
    pd.testing.assert_frame_equal(ours, plain, check_exact=True)
    assert list(ours.columns) == ["arch", *names] and len(ours) == len(archs)
    assert ours.attrs["computed"]["zen"] == len(archs) - 1  # the repeat scored once
    pooled = score_archs("nb201", archs, names, progress=False, workers=2, **SMALL)
    pd.testing.assert_frame_equal(pooled, plain, check_exact=True)


def test_structural_memo_matches_full_size_networks():
    """params / flops once per op multiset, at the benchmark's own width and depth."""
    archs = _sample(3, seed=1)
    plain = score_plain("nb201", archs, ["params", "flops"], device="cpu")
    ours = score_archs("nb201", archs, ["params", "flops"], device="cpu", progress=False)
    pd.testing.assert_frame_equal(ours, plain, check_exact=True)
    assert ours["params"].iloc[0] == ours["params"].iloc[3]  # the permuted cell
    by_dataset = score_archs("nb201", archs[:1], ["params"], "cifar100", progress=False)
    assert by_dataset["params"].iloc[0] > ours["params"].iloc[0]  # 100-class head


class Counter:
    """Stand-in proxies that count their calls and can fail after a number of them."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def weights(self, network, batch) -> float:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        return float(sum(p.detach().abs().sum() for p in network.parameters()))

    def labels(self, network, batch) -> float:
        assert batch.targets is not None and batch.inputs.shape[0] == SMALL["batch_size"]
        return float(batch.targets.float().mean())

    def registry(self) -> dict[str, Proxy]:
        return {
            "weights": Proxy("weights", self.weights, True, "sum |w|"),
            "labels": Proxy("labels", self.labels, False, "mean label"),
        }


def test_an_interrupted_run_resumes_without_recomputing(tmp_path):
    archs = _sample(6, seed=2)[:6]
    reference = score_archs(
        "nb201", archs, ["weights"], registry=Counter().registry(), progress=False, **SMALL
    )
    failing = Counter(fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        score_archs(
            "nb201",
            archs,
            ["weights"],
            cache=ScoreCache(tmp_path, flush_every=100),
            registry=failing.registry(),
            progress=False,
            **SMALL,
        )
    rerun = Counter()
    cache = ScoreCache(tmp_path)
    frame = score_archs(
        "nb201", archs, ["weights"], cache=cache, registry=rerun.registry(), progress=False, **SMALL
    )
    assert rerun.calls == len(archs) - 4  # the four done before the interrupt were kept
    pd.testing.assert_frame_equal(frame, reference, check_exact=True)
    assert frame.attrs["cached"] == {"weights": 4}
    again = Counter()
    score_archs(
        "nb201", archs, ["weights"], cache=cache, registry=again.registry(), progress=False, **SMALL
    )
    assert again.calls == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_data_free_proxies_never_load_images(monkeypatch):
    def no_images(*args, **kwargs):
        raise AssertionError("images loaded for data-free proxies")

    monkeypatch.setattr(scoring, "dataset_batch", no_images)
    frame = score_archs("nb201", [CELL], list(DATA_FREE), progress=False, **SMALL)
    assert frame.notna().all().all()
    counter = Counter()
    monkeypatch.undo()
    labelled = score_archs(
        "nb201", [CELL], ["labels"], registry=counter.registry(), progress=False, **SMALL
    )
    assert 0 <= labelled["labels"].iloc[0] < 10


def test_cache_keys_chunks_and_merging(tmp_path, monkeypatch):
    key = ScoreKey("nb201", "zen", "folder:/a/b", "3x32x32-10cls", 0, 64, None, 2)
    other = ScoreKey("nb201", "zen", "folder:/a_b", "3x32x32-10cls", 0, 64, None, 2)
    assert key.folder() != other.folder() and "/" not in key.folder().name
    assert key.folder().name.endswith("_seed0_bs64_chdefault_cells2")
    cache = ScoreCache(tmp_path, flush_every=2, flush_seconds=1e9)
    cache.put(key, "a", 1.0)
    assert cache.flush(force=False) == 0 and cache.load(key) == {"a": 1.0}  # pending counts
    cache.put(key, "b", 2.0)
    assert cache.flush(force=False) == 2
    monkeypatch.setattr(cache_module, "COMPACT_ABOVE", 3)
    for i in range(4):
        cache.put_many(key, {f"x{i}": float(i), "a": 1.0})
        cache.flush()
    folder = tmp_path / key.folder()
    assert len(list(folder.glob("chunk-*.parquet"))) == 5
    expected = {"a": 1.0, "b": 2.0, **{f"x{i}": float(i) for i in range(4)}}
    assert ScoreCache(tmp_path).load(key) == expected
    assert len(list(folder.glob("chunk-*.parquet"))) == 1  # merged into one
    assert ScoreCache(tmp_path).load(key) == expected and ScoreCache(tmp_path).load(other) == {}


def _zc(tmp_path, out: str, *extra: str) -> list[str]:
    return [
        "zc", "--space", "nb201", "--archs", "4", "--channels", "4", "--cells", "1",
        "--batch-size", "8", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / out),
        *extra,
    ]  # fmt: skip


def test_cli_writes_the_table_and_a_rerun_computes_nothing(tmp_path, capsys):
    argv = _zc(tmp_path, "scores.csv", "--proxy", "params,l2_norm,nwot", "--json")
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "mnist5k" in captured.err  # the data-dependent proxy's default images, said
    assert summary["count"] == 4 and summary["computed"] == {"params": 4, "l2_norm": 4, "nwot": 4}
    assert set(summary["mean"]) == {"params", "l2_norm", "nwot"} and summary["seconds"] >= 0
    table = pd.read_csv(tmp_path / "scores.csv")
    assert list(table.columns) == ["arch", "params", "l2_norm", "nwot"] and len(table) == 4
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert set(again["computed"].values()) == {0} and again["mean"] == summary["mean"]

    parquet = _zc(tmp_path, "scores.parquet", "--proxy", "l2_norm", "--json")
    assert main(parquet) == 0
    assert json.loads(capsys.readouterr().out)["computed"] == {"l2_norm": 0}
    written = pd.read_parquet(tmp_path / "scores.parquet")
    assert written["l2_norm"].tolist() == table["l2_norm"].tolist()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--proxy", "synflw"], "unknown zero-cost proxy 'synflw'"),
        (["--proxy", "params", "--space", "nope"], "unknown search space"),
        (["--proxy", "params", "--space", "nbgraph"], "no networks are built"),
        (["--proxy", "params", "--space", "darts", "--archs", "0"], "--archs must be >= 1"),
        (["--proxy", "params", "--out", "x.txt"], "--out must end in"),
    ],
)
def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys, argv, needle):
    assert main([*_zc(tmp_path, "s.csv"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err


def test_a_space_that_cannot_be_enumerated_needs_a_sample_size(tmp_path, capsys):
    argv = ["zc", "--space", "darts", "--proxy", "params", "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    assert "give --archs N" in capsys.readouterr().err


def test_scoring_arguments_are_checked():
    with pytest.raises(InvalidOption, match="unknown zero-cost proxy"):
        score_archs("nb201", [CELL], ["params", "bogus"], progress=False)
    with pytest.raises(InvalidOption, match="at least one proxy"):
        score_archs("nb201", [CELL], "", progress=False)
    with pytest.raises(InvalidOption, match="workers"):
        score_archs("nb201", [CELL], "params", workers=0, progress=False)
