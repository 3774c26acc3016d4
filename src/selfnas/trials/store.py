"""A persistent store of trials: one JSON file per (arch, recipe), written atomically.

Training an architecture is the expensive step of a real search, so its outcome is kept
outside any one run: a resumed run, a repeated run or another seed of `compare` that asks
for the same arch under the same recipe reads the stored result instead of training
again. Only the process that dispatches trials writes here (workers return results to
it), so a shared file system is not needed for correctness.

Layout under the store's root:

    <digest>.json        the trial: arch key, recipe key, status, metrics, attempts, reason
    <digest>/            the trial's working folder (training checkpoints, resumable)
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from selfnas.atomic import write_json
from selfnas.errors import DataCorrupt

DONE = "done"
FAILED = "failed"
RUNNING = "running"


@dataclass
class Trial:
    """One evaluation of one arch under one recipe, and how it went."""

    arch_key: str
    recipe_key: str
    arch: str = ""
    status: str = RUNNING
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None
    attempts: int = 0
    reasons: list[str] = field(default_factory=list)
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def reason(self) -> str:
        """Why the last attempt failed ("" when none did)."""
        return self.reasons[-1] if self.reasons else ""


def trial_digest(arch_key: str, recipe_key: str) -> str:
    return hashlib.sha1(f"{arch_key}|{recipe_key}".encode()).hexdigest()[:20]


class TrialStore:
    """Trials on disk under `root` (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def path(self, arch_key: str, recipe_key: str) -> Path:
        return self.root / f"{trial_digest(arch_key, recipe_key)}.json"

    def workdir(self, arch_key: str, recipe_key: str) -> Path:
        """A folder the trial may keep checkpoints in (so a killed trial resumes)."""
        return self.root / trial_digest(arch_key, recipe_key)

    def get(self, arch_key: str, recipe_key: str) -> Trial | None:
        path = self.path(arch_key, recipe_key)
        if not path.is_file():
            return None
        try:
            return Trial(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise DataCorrupt(
                f"trial file {path} is unreadable ({exc}); delete it to run that trial again"
            ) from None

    def put(self, trial: Trial) -> None:
        if trial.finished and trial.finished_at is None:
            trial.finished_at = time.time()
        write_json(self.path(trial.arch_key, trial.recipe_key), asdict(trial))

    def all(self) -> list[Trial]:
        """Every stored trial (for reports and tests)."""
        if not self.root.is_dir():
            return []
        return [Trial(**json.loads(p.read_text())) for p in sorted(self.root.glob("*.json"))]

    def describe(self) -> dict[str, Any]:
        trials = self.all()
        return {
            "root": str(self.root),
            "done": sum(t.status == DONE for t in trials),
            "failed": sum(t.status == FAILED for t in trials),
            "unfinished": sum(not t.finished for t in trials),
        }
