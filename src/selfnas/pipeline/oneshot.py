"""SSWP-NAS: `selfnas oneshot search`, `finetune` and `train` as functions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfnas.runs.kind import FINETUNE, ONESHOT, mark
from selfnas.runs.oneshot import OneshotRun

if TYPE_CHECKING:
    from selfnas.oneshot.data import ImageData
    from selfnas.oneshot.finetune import FinetuneConfig
    from selfnas.oneshot.search import SearchConfig, SearchResult


def oneshot_search(
    config: SearchConfig,
    out: str | Path,
    *,
    resume: bool = True,
    data: ImageData | None = None,
) -> SearchResult:
    """Search a network on unlabelled images into `out` (resumes its checkpoint there):
    the supernet trains self-supervised while its cells are fixed one by one, and the
    derived network keeps the weights (`network.pt`). Under torchrun only rank 0 writes."""
    from selfnas.oneshot.distributed import current
    from selfnas.oneshot.search import run_search

    if current().is_main:
        mark(out, ONESHOT)
    return run_search(config, out, resume=resume, data=data)


def finetune(
    run: OneshotRun | str | Path, config: FinetuneConfig, data: ImageData | None = None
) -> dict[str, Any]:
    """Fine-tune the network of a finished one-shot run on a fraction of the labels, from
    the chosen initialisation; the result lands in the run's `finetune/` folder."""
    from selfnas.oneshot.finetune import finetune as run_finetune

    root = run.root if isinstance(run, OneshotRun) else Path(run)
    result = run_finetune(root, config, data)
    mark(root / "finetune", FINETUNE)
    return result


def final_train(run: OneshotRun | str | Path, **options: Any) -> dict[str, Any]:
    """Train the network of a finished one-shot run at DARTS' evaluation recipe (cutout,
    auxiliary head, drop path; `epochs` default 600), from its concomitant weights or
    from scratch; resumable, recorded in the run's `final/` folder. `options` are those of
    `selfnas.oneshot.final.final_train` (epochs, init, recipe_options, device, seed, ...)."""
    from selfnas.oneshot.final import final_train as run_final

    root = run.root if isinstance(run, OneshotRun) else Path(run)
    return run_final(root, **options)
