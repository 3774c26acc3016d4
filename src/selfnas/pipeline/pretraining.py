"""Pretraining and embedding: `selfnas pretrain` and `selfnas embed` as functions.

The CLI, the demo, the reproductions and the benchmark scripts all call these, so a
pretraining run records the same `config.json` whoever made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.runs.kind import PRETRAINING, mark
from selfnas.runs.pretrain import PretrainRun

#: archs drawn from a space too big to enumerate (not `SearchSpace.enumerable`)
DEFAULT_SAMPLES = 100_000
#: archs embedded per forward pass
EMBED_CHUNK = 8192


def pretrain(
    objective: str,
    space: str,
    out: str | Path,
    *,
    epochs: int | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    space_defaults: bool = True,
    samples: int | None = None,
    subset: int | None = None,
    validity_samples: int = 10_000,
    eval_every: int | None = None,
    locality_steps: int = 0,
    device: Any = "cpu",
    log: Callable[[str], None] | None = None,
) -> PretrainRun:
    """Train `objective` self-supervised on `space`'s archs into `out` (resumes there).

    `epochs=None` takes the objective's default for the space; `eval_every=None` checks the
    metrics about ten times. `space_defaults` lays the space's measured arch2vec options
    under `options` (the reproductions turn it off: they train the published objective).
    `samples` matters only for spaces too big to enumerate (default 100,000 draws).
    `locality_steps > 0` adds the locality walk's metrics (and `locality.npz`) afterwards.
    Returns the run, its trained objective in memory.
    """
    from selfnas.pretrain.metrics import pretraining_protocol
    from selfnas.pretrain.registry import (
        default_epochs,
        get_objective,
        published_options,
        resolve_options,
    )
    from selfnas.pretrain.trainer import HOLDOUT, Trainer, space_data, split_indices
    from selfnas.runtime import seed_everything, select_device
    from selfnas.spaces import get_space

    for flag, value in (("--epochs", epochs), ("--eval-every", eval_every)):
        if value is not None and value < 1:
            raise InvalidOption(f"{flag} must be >= 1, got {value}")
    device = select_device(str(device))
    arch_space = get_space(space)
    options = dict(options or {})
    # written into the config, so a run states what it trained (and reloads as trained)
    if space_defaults:
        options = resolve_options(objective, arch_space.name, options)
    else:
        options = published_options(objective, arch_space.name, options)
    drawn = None if arch_space.enumerable else (samples or DEFAULT_SAMPLES)
    config = {
        "objective": objective,
        "space": arch_space.name,
        "options": options,
        "samples": drawn,
        "subset": subset,
        "validity_samples": validity_samples,
        "eval_every": eval_every,
    }
    seed_everything(seed)
    model = get_objective(objective, arch_space, **options)
    data = space_data(arch_space, drawn, seed, subset)
    if epochs is None:
        num_train = len(split_indices(len(data), HOLDOUT, seed)[0])
        epochs = default_epochs(model, arch_space.name, num_train)
    mark(out, PRETRAINING)
    trainer = Trainer(
        model,
        data,
        out,
        config,
        epochs=epochs,
        seed=seed,
        device=device,
        evaluate=pretraining_protocol(validity_samples),
        eval_every=eval_every if eval_every is not None else max(1, epochs // 10),
        log=log,
    )
    result = trainer.run()
    run = PretrainRun(out, objective=model)
    if locality_steps > 0 and "locality_spearman" not in result.final:
        run.update_final(dict(result.final) | _locality(run, locality_steps, seed, device))
    return run


def _locality(run: PretrainRun, steps: int, seed: int, device: Any) -> dict[str, Any]:
    """The locality walk's summary (saved to `locality.npz`); {} where the space has no edits."""
    from selfnas.atomic import save_npz
    from selfnas.pretrain.metrics import locality

    began = time.perf_counter()
    try:
        res = locality(
            run.objective, run.space, np.random.default_rng([seed, 3]), steps, device=device
        )
    except NotImplementedError:
        return {}
    save_npz(run.locality_path, l2=res.l2, edit=res.edit)
    return res.summary() | {"locality_seconds": time.perf_counter() - began}


def embed(run: PretrainRun | str | Path, out: str | Path, device: Any = "cpu") -> Path:
    """Embed every arch of the run's space (its enumeration, or the run's sample) into
    the .npz `out`: `embeddings [N, D]` float32, `hashes [N]` and the space's name."""
    import torch

    from selfnas.atomic import save_npz
    from selfnas.pretrain.trainer import space_hashes
    from selfnas.progress import track
    from selfnas.runtime import select_device

    device = select_device(str(device))
    if not isinstance(run, PretrainRun):
        run = PretrainRun.open(run)
    objective = run.objective.to(device).eval()
    data = run.data()
    parts = []
    with torch.no_grad():
        for start in track(range(0, len(data), EMBED_CHUNK), "embedding"):
            parts.append(objective.embed(data[start : start + EMBED_CHUNK].to(device)).cpu())
    emb = torch.cat(parts).numpy().astype(np.float32)
    hashes = space_hashes(run.space, data)
    space_name = np.asarray(run.space.name)
    return save_npz(out, embeddings=emb, hashes=np.asarray(hashes), space=space_name)
