"""Fine-tunes of a one-shot run's network (`selfnas oneshot finetune DIR`).

They live in the search's `finetune/` folder (written by `selfnas.oneshot.finetune`):

    <init>_f<label fraction>_e<epochs>_s<seed>.json   the result of one fine-tune
    <init>_f<label fraction>_e<epochs>_s<seed>.pt     its checkpoint (resumable)
    simclr_pretrain_e<epochs>.pt                      the two-stage baseline's pretraining
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selfnas.runs.kind import FINETUNE


class FinetuneRun:
    """The fine-tunes of one one-shot run, in `root` (the run's `finetune/` folder)."""

    kind = FINETUNE

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def of(cls, oneshot_run: str | Path) -> FinetuneRun:
        """The fine-tunes of the one-shot run in `oneshot_run`."""
        return cls(Path(oneshot_run) / "finetune")

    @property
    def search_dir(self) -> Path:
        """The one-shot run whose network these fine-tunes start from."""
        return self.root.parent

    def result_path(self, tag: str) -> Path:
        return self.root / f"{tag}.json"

    def results(self) -> dict[str, dict[str, Any]]:
        """Every finished fine-tune's result, by tag."""
        if not self.root.is_dir():
            return {}
        return {p.stem: json.loads(p.read_text()) for p in sorted(self.root.glob("*.json"))}
