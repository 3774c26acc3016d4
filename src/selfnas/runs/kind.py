"""What kind of run a directory holds, so `report`, `embed` and the rest need not guess.

Every run directory made by this version records its kind in `run.json`
(`{"kind": "pretraining", "selfnas": "0.1.0"}`); directories made before the marker existed
are recognised by the files each kind writes (`detect_kind`). A trial store holds no
marker: every `*.json` file directly in it is a trial.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from selfnas.errors import DataCorrupt, ResumeMismatch

MARKER: Final = "run.json"

SEARCH: Final = "search"
PRETRAINING: Final = "pretraining"
ONESHOT: Final = "oneshot"
FINETUNE: Final = "finetune"
TRIALS: Final = "trials"
REPRODUCTION: Final = "reproduction"

#: every kind of directory selfnas writes, in the order `detect_kind` tries them
KINDS: Final = (SEARCH, PRETRAINING, ONESHOT, FINETUNE, REPRODUCTION, TRIALS)

#: a trial file's name: `selfnas.trials.store.trial_digest`
_TRIAL_NAME: Final = re.compile(r"[0-9a-f]{20}")


def recorded_kind(root: str | Path) -> str | None:
    """The kind `run.json` records, or None for a directory without the marker."""
    path = Path(root) / MARKER
    if not path.is_file():
        return None
    try:
        kind = json.loads(path.read_text()).get("kind")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DataCorrupt(f"{path}: not a run marker ({exc})") from None
    if kind not in KINDS:
        raise DataCorrupt(f"{path}: unknown run kind {kind!r}")
    return str(kind)


def detect_kind(root: str | Path) -> str | None:
    """The kind a directory made before `run.json` existed holds, from its files."""
    root = Path(root)

    def has(*names: str) -> bool:
        return all((root / name).is_file() for name in names)

    if has("config.json", "results.parquet"):
        return SEARCH
    if has("config.json", "metrics.json"):
        return PRETRAINING
    if has("config.json") and (has("network.pt") or has("result.json")):
        return ONESHOT
    if root.name == "finetune" and (root.parent / "network.pt").is_file():
        return FINETUNE
    if has("results.csv", "report.md"):
        return REPRODUCTION
    trials = list(root.glob("*.json"))
    if trials and all(_TRIAL_NAME.fullmatch(p.stem) for p in trials):
        return TRIALS
    return None


def run_kind(root: str | Path) -> str | None:
    """The kind of run in `root`: the recorded one, else the one its files show."""
    return recorded_kind(root) or detect_kind(root)


def mark(root: str | Path, kind: str) -> Path:
    """Record that `root` holds a run of `kind` (created if need be).

    Refuses a directory that already holds another kind (recorded, or shown by its files),
    so `selfnas pretrain --out` pointed at a search run cannot mix the two."""
    from selfnas import __version__
    from selfnas.atomic import write_json

    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}")
    root = Path(root)
    path = root / MARKER
    before = run_kind(root)
    if before == kind and path.is_file():
        return path
    if before not in (None, kind):
        raise ResumeMismatch(
            f"{root} holds a {before} run, not a {kind} run; use a new --out directory"
        )
    root.mkdir(parents=True, exist_ok=True)
    return write_json(path, {"kind": kind, "selfnas": __version__})
