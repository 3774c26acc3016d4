"""The validity metric's own draws of a pretraining run, rebuilt for diagnostics: the run's
checkpoint, its training split and the generator of its last evaluation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from selfnas.cli.pretrain_cmd import load_run
from selfnas.pretrain.metrics import (
    cell_sizes,
    decoded_draws,
    draws_by_size,
    standard_noise,
    training_latents,
)
from selfnas.pretrain.objective import Reconstruction
from selfnas.pretrain.trainer import HOLDOUT, evaluation_rng, space_data, split_indices
from selfnas.spaces.batch import ArchBatch


@dataclass
class RunDraws:
    space: Any
    train: ArchBatch
    draws: Reconstruction
    epoch: int
    samples: int
    #: archs the run trained and held out on together (the space, or its sample)
    cells: int


#: the fits the validity metric draws from (`by_size`: one full Gaussian per cell size)
FITS = ("full", "diagonal", "by_size")


def last_evaluation_draws(run_dir: Path, fit: str) -> RunDraws:
    """Decoded draws of the run's last evaluation from `fit` (one of `FITS`), the very
    draws the metric counted."""
    torch.set_num_threads(1)
    objective, space, config = load_run(run_dir)
    seed = int(config["seed"])
    epoch = int(json.loads((run_dir / "metrics.json").read_text())["final"]["epoch"])
    data = space_data(space, config.get("samples"), seed, config.get("subset"))
    train = data[torch.as_tensor(split_indices(len(data), config.get("holdout", HOLDOUT), seed)[0])]
    samples = int(config.get("validity_samples") or 10_000)
    latents = training_latents(objective, train)
    rng = evaluation_rng(seed, epoch - 1)
    if fit == "by_size":  # the metric draws these after the paired full/diagonal noise
        standard_noise(rng, samples, latents)
        draws = objective.sample_decode(draws_by_size(latents, cell_sizes(train), rng, samples))
    else:
        draws = decoded_draws(objective, latents, rng, samples, fit)
    return RunDraws(space, train, draws, epoch, samples, len(data))
