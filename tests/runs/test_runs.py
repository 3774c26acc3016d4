"""Run directories: config checks on resume, atomic checkpoints, tidy result files."""

from __future__ import annotations

import pandas as pd
import pytest

from selfnas.errors import DataCorrupt, DataNotFound, ResumeMismatch
from selfnas.runs import RunDir

CONFIG = {
    "problem": {"benchmark": "nb201"},
    "budget": {"queries": 10},
    "strategies": {"re": {"population": 50}},
}


def test_config_is_recorded_then_checked(tmp_path):
    run = RunDir(tmp_path / "run")
    run.ensure_config(CONFIG)
    assert run.read_config() == CONFIG
    run.ensure_config(CONFIG)  # the same run resumes
    with pytest.raises(ResumeMismatch, match="budget"):
        run.ensure_config({**CONFIG, "budget": {"queries": 20}})
    with pytest.raises(ResumeMismatch, match="options of re"):
        run.ensure_config({**CONFIG, "strategies": {"re": {"population": 10}}})


def test_a_run_recorded_before_an_option_existed_still_resumes(tmp_path):
    """gates-ea gained `encoder_from` (default ""): a run recorded without it ran as the
    default does, so it resumes; one that now asks for another value does not."""
    from selfnas.search.base import default_options

    run = RunDir(tmp_path)
    before = {k: v for k, v in default_options("gates-ea").items() if k != "encoder_from"}
    run.ensure_config({**CONFIG, "strategies": {"gates-ea": before}})
    run.ensure_config({**CONFIG, "strategies": {"gates-ea": default_options("gates-ea")}})
    changed = {**default_options("gates-ea"), "encoder_from": "none"}
    with pytest.raises(ResumeMismatch, match="options of gates-ea"):
        run.ensure_config({**CONFIG, "strategies": {"gates-ea": changed}})


def test_new_strategies_may_join_a_run(tmp_path):
    run = RunDir(tmp_path)
    run.ensure_config(CONFIG)
    merged = run.ensure_config({**CONFIG, "strategies": {"ls": {"init": 1}}})
    assert set(merged["strategies"]) == {"re", "ls"}
    assert set(run.read_config()["strategies"]) == {"re", "ls"}


def test_checkpoint_round_trip_and_finish(tmp_path):
    run = RunDir(tmp_path)
    assert run.load_checkpoint("ls", 3) is None
    run.save_checkpoint("ls", 3, {"rows": [1, 2], "x": "y"})
    assert run.load_checkpoint("ls", 3) == {"rows": [1, 2], "x": "y"}
    frame = pd.DataFrame({"strategy": ["ls"], "seed": [3], "step": [1]})
    run.finish_seed("ls", 3, frame)
    assert run.seed_done("ls", 3)
    assert not run.checkpoint_path("ls", 3).exists()
    pd.testing.assert_frame_equal(run.collect([("ls", 3), ("ls", 4)]), frame)
    assert not list(tmp_path.rglob("*.tmp"))


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    run = RunDir(tmp_path)
    path = run.checkpoint_path("re", 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint journal, just some bytes")
    with pytest.raises(DataCorrupt, match="seed_0000"):
        run.load_checkpoint("re", 0)


def test_a_torn_last_record_falls_back_to_the_previous_tell(tmp_path):
    """What a kill -9 in the middle of an append leaves behind."""
    run = RunDir(tmp_path)
    run.save_checkpoint("ls", 1, {"tells": 1})
    run.save_checkpoint("ls", 1, {"tells": 2, "pad": "x" * 1000})
    path = run.checkpoint_path("ls", 1)
    whole = path.read_bytes()
    for cut in (len(whole) - 1, len(whole) - 1000, len(whole) - 1010):
        path.write_bytes(whole[:cut])
        assert run.load_checkpoint("ls", 1) == {"tells": 1}
    path.write_bytes(whole[:5])  # even the first record torn: start afresh
    assert run.load_checkpoint("ls", 1) is None


# --- kinds: the recorded marker, and the files of runs made before it ---------------------
def test_a_search_run_records_its_kind(tmp_path):
    from selfnas.runs import SEARCH, RunDir, open_run, run_kind

    run = RunDir(tmp_path / "run")
    run.ensure_config(CONFIG)
    assert run_kind(run.root) == SEARCH
    assert isinstance(open_run(run.root), RunDir)


def test_runs_made_before_the_marker_are_recognised_by_their_files(tmp_path):
    from selfnas.runs import (
        FinetuneRun,
        OneshotRun,
        PretrainRun,
        RunDir,
        TrialsRun,
        open_run,
        run_kind,
    )

    layouts = {
        "search": (["config.json", "results.parquet"], RunDir),
        "pretrain": (["config.json", "metrics.json", "checkpoint.pt"], PretrainRun),
        "oneshot": (["config.json", "network.pt", "result.json"], OneshotRun),
        "oneshot/finetune": (["concomitant_f0.1_e10_s0.json"], FinetuneRun),
        "trials": (["0123456789abcdef0123.json"], TrialsRun),
    }
    for folder, (files, _) in layouts.items():
        (tmp_path / folder).mkdir(parents=True)
        for name in files:
            (tmp_path / folder / name).write_text("{}")
    for folder, (_, kind) in layouts.items():
        opened = open_run(tmp_path / folder)
        assert type(opened) is kind and opened.root == tmp_path / folder
        assert run_kind(tmp_path / folder) == kind.kind
    (tmp_path / "repro").mkdir()
    for name in ("results.csv", "report.md"):
        (tmp_path / "repro" / name).write_text("x")
    assert run_kind(tmp_path / "repro") == "reproduction"
    with pytest.raises(DataNotFound, match="folder of runs"):
        open_run(tmp_path / "repro")
    (tmp_path / "empty").mkdir()
    assert run_kind(tmp_path / "empty") is None
    with pytest.raises(DataNotFound, match="no selfnas run"):
        open_run(tmp_path / "empty")


def test_a_run_of_one_kind_refuses_another_in_its_directory(tmp_path):
    from selfnas.runs import PRETRAINING, SEARCH, mark, run_kind

    RunDir(tmp_path).ensure_config(CONFIG)
    mark(tmp_path, SEARCH)  # the same kind again: fine
    with pytest.raises(ResumeMismatch, match="holds a search run, not a pretraining run"):
        mark(tmp_path, PRETRAINING)
    assert run_kind(tmp_path) == SEARCH
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(DataCorrupt, match=r"run\.json"):
        run_kind(tmp_path)


def test_finetune_results_are_the_result_files_not_the_kind_marker(tmp_path):
    from selfnas.atomic import write_json
    from selfnas.runs import FinetuneRun
    from selfnas.runs.kind import FINETUNE, mark

    root = tmp_path / "search" / "finetune"
    write_json(root / "concomitant_f0.1_e10_s0.json", {"test_accuracy": 0.9})
    mark(root, FINETUNE)  # what `selfnas.pipeline.finetune` does after each fine-tune
    assert (root / "run.json").is_file()
    assert FinetuneRun(root).results() == {"concomitant_f0.1_e10_s0": {"test_accuracy": 0.9}}


def test_a_hand_broken_config_is_a_clear_error(tmp_path):
    run = RunDir(tmp_path)
    run.config_path.write_text('{"budget": 10,')
    with pytest.raises(DataCorrupt, match=r"config\.json: not valid JSON"):
        run.read_config()
