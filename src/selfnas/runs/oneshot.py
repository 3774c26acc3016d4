"""One-shot (SSWP-NAS) search run directories (`selfnas oneshot search --out DIR`).

Layout (written by `selfnas.oneshot.search.run_search`):

    config.json     the `SearchConfig` the run was made with
    checkpoint.pt   supernet, optimisers and history (after every epoch)
    genotypes.txt   the searched cell of every position, one per line (when finished)
    network.pt      the derived network with the weights kept from the search
    result.json     genotypes, seconds, history
    finetune/       fine-tunes of the network (`selfnas.runs.finetune`)
    run.json        the kind marker (`selfnas.runs.kind`)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfnas.atomic import read_json
from selfnas.errors import DataNotFound
from selfnas.runs.kind import ONESHOT


class OneshotRun:
    """One SSWP-NAS search's directory."""

    kind = ONESHOT

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def network_path(self) -> Path:
        return self.root / "network.pt"

    @property
    def result_path(self) -> Path:
        return self.root / "result.json"

    @property
    def finished(self) -> bool:
        """Whether the search ran to the end and exported its network."""
        return self.network_path.is_file() and self.config_path.is_file()

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise DataNotFound(f"{self.config_path} is absent: is {self.root} a one-shot run?")
        return read_json(self.config_path)

    def read_result(self) -> dict[str, Any]:
        """Genotypes, seconds and history of the finished search."""
        if not self.result_path.is_file():
            raise DataNotFound(f"{self.result_path} is absent: has the search finished?")
        return read_json(self.result_path)

    @property
    def genotypes(self) -> list[str]:
        return list(self.read_result()["genotypes"])

    @property
    def finetune_dir(self) -> Path:
        return self.root / "finetune"
