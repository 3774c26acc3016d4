"""Fine-tunes of a one-shot run's network (`selfnas oneshot finetune DIR`).

They live in the search's `finetune/` folder (written by `selfnas.oneshot.finetune`):

    <init>_f<label fraction>_e<epochs>_s<seed>.json   the result of one fine-tune
    <init>_f<label fraction>_e<epochs>_s<seed>.pt     its checkpoint (resumable)
    <init>_linear_f<fraction>_e<epochs>_s<seed>.*     the same for a linear probe (frozen
                                                      features, `--linear-probe`)
    simclr_pretrain_e<epochs>.pt                      the two-stage baseline's pretraining
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfnas.atomic import read_json
from selfnas.runs.kind import FINETUNE, MARKER

if TYPE_CHECKING:
    from selfnas.oneshot.finetune import FinetuneConfig


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
        results = sorted(p for p in self.root.glob("*.json") if p.name != MARKER)
        return {p.stem: read_json(p) for p in results}

    def config(self, tag: str) -> FinetuneConfig:
        """The settings of the finished fine-tune `tag`. Results written before they
        recorded their config fall back on the checkpoint's identity; settings added since
        (`linear_probe`) take their defaults."""
        from selfnas.oneshot.finetune import FinetuneConfig

        recorded = read_json(self.result_path(tag)).get("config")
        if recorded is None:
            import torch

            checkpoint = self.root / f"{tag}.pt"
            payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
            recorded = {k: v for k, v in payload["identity"].items() if k != "stage"}
        return FinetuneConfig.from_dict(recorded)
