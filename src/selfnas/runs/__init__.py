"""Run directories: one type per kind of run, and how to tell which kind a directory holds.

- `RunDir` (alias `SearchRun`): `selfnas search` / `compare` runs (`selfnas.runs.search`)
- `PretrainRun`: `selfnas pretrain` runs (`selfnas.runs.pretrain`)
- `OneshotRun`, `FinetuneRun`: SSWP-NAS searches and the fine-tunes of their networks
- `TrialsRun`: trial stores of real searches

Each type owns its file names; `open_run(path)` returns the right one for a directory
(its `run.json` marker, else the files it holds: see `selfnas.runs.kind`).
"""

from __future__ import annotations

from pathlib import Path

from selfnas.errors import DataNotFound
from selfnas.runs.finetune import FinetuneRun
from selfnas.runs.kind import (
    FINETUNE,
    KINDS,
    ONESHOT,
    PRETRAINING,
    REPRODUCTION,
    SEARCH,
    TRIALS,
    mark,
    run_kind,
)
from selfnas.runs.oneshot import OneshotRun
from selfnas.runs.pretrain import PretrainRun
from selfnas.runs.search import RunDir, SearchRun
from selfnas.runs.trials import TrialsRun

Run = RunDir | PretrainRun | OneshotRun | FinetuneRun | TrialsRun

_TYPES: dict[str, type[Run]] = {
    SEARCH: RunDir,
    PRETRAINING: PretrainRun,
    ONESHOT: OneshotRun,
    FINETUNE: FinetuneRun,
    TRIALS: TrialsRun,
}


def open_run(root: str | Path) -> Run:
    """The run in `root`, as the type of its kind (a reproduction is a folder of runs,
    not a run: open the runs inside it)."""
    kind = run_kind(root)
    if kind is None or kind not in _TYPES:
        what = "a folder of runs" if kind == REPRODUCTION else "no selfnas run"
        raise DataNotFound(f"{root} holds {what} (kinds: {', '.join(_TYPES)})")
    return _TYPES[kind](root)


__all__ = [
    "FINETUNE",
    "KINDS",
    "ONESHOT",
    "PRETRAINING",
    "REPRODUCTION",
    "SEARCH",
    "TRIALS",
    "FinetuneRun",
    "OneshotRun",
    "PretrainRun",
    "Run",
    "RunDir",
    "SearchRun",
    "TrialsRun",
    "mark",
    "open_run",
    "run_kind",
]
