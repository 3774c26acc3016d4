"""Trial stores (`--trials DIR`, the real searches' trained architectures).

A store holds one `<digest>.json` per (arch, recipe) and a working folder per trial; it
belongs to no single run (runs and seeds share it), so it carries no `run.json`: every JSON
file directly in it is a trial (`selfnas.trials.store`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from selfnas.runs.kind import TRIALS

if TYPE_CHECKING:
    from selfnas.trials.store import Trial, TrialStore


class TrialsRun:
    """A trial store's directory."""

    kind = TRIALS

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def store(self) -> TrialStore:
        from selfnas.trials.store import TrialStore

        return TrialStore(self.root)

    def trials(self) -> list[Trial]:
        """Every trial recorded, finished or not."""
        return self.store.all()
