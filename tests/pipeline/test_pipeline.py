"""The pipeline as library calls: one implementation behind the CLI and the reproductions,
and the layering that keeps the library free of the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from selfnas.cli import main
from selfnas.errors import ResumeMismatch
from selfnas.runs import PRETRAINING, PretrainRun, RunDir, run_kind

ROOT = Path(__file__).resolve().parents[2]
TINY = {"epochs": 1, "subset": 200, "validity_samples": 50}


def test_reproduce_and_the_cli_record_the_same_pretraining_config(tmp_path, capsys):
    from selfnas.reproduce.common import pretrain

    cli_dir, lib_dir = tmp_path / "cli", tmp_path / "reproduce"
    argv = ["pretrain", "arch2vec", "--space", "nb201", "--epochs", "1", "--subset", "200"]
    argv += ["--validity-samples", "50", "--locality-steps", "0", "--out", str(cli_dir)]
    assert main([*argv, "--json"]) == 0
    capsys.readouterr()
    made = pretrain("arch2vec", "nb201", lib_dir, **TINY)
    by_cli, by_lib = (json.loads((d / "config.json").read_text()) for d in (cli_dir, lib_dir))
    assert set(by_cli) == set(by_lib)
    # what differs is what the reproductions ask for: one evaluation, after the last epoch
    assert {k for k in by_cli if by_cli[k] != by_lib[k]} == {"eval_every"}
    assert by_cli["eval_every"] is None and by_lib["eval_every"] == 1
    assert run_kind(cli_dir) == run_kind(lib_dir) == PRETRAINING
    # the same seed, data and objective: the same weights, whoever trained them
    opened = PretrainRun.open(cli_dir)
    for name, value in opened.objective.state_dict().items():
        assert value.equal(made.objective.state_dict()[name]), name


def test_pretraining_into_a_search_run_is_refused(tmp_path):
    from selfnas.pipeline import pretrain

    RunDir(tmp_path).ensure_config({"problem": {}, "budget": {}, "strategies": {}})
    with pytest.raises(ResumeMismatch, match="holds a search run"):
        pretrain("arch2vec", "nb201", tmp_path, **TINY)
    assert not (tmp_path / "checkpoint.pt").exists()


def _imports_the_cli(path: Path) -> bool:
    text = path.read_text()
    return bool(
        re.search(
            r"^\s*(from selfnas\.cli\b|import selfnas\.cli\b|from selfnas import cli\b)", text, re.M
        )
    )


def test_no_library_module_or_benchmark_script_imports_the_cli():
    """The CLI is a shell over the library: `selfnas.cli` imports the library, never the
    other way round (`__main__` is the CLI's own entry point)."""
    src = ROOT / "src" / "selfnas"
    library = [
        p
        for p in src.rglob("*.py")
        if "cli" not in p.relative_to(src).parts[:1] and p.name != "__main__.py"
    ]
    scripts = list((ROOT / "benchmarks").rglob("*.py"))
    assert len(library) > 100 and scripts
    offenders = [str(p.relative_to(ROOT)) for p in library + scripts if _imports_the_cli(p)]
    assert offenders == []
