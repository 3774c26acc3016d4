"""The validity metric's own draws of a pretraining run, rebuilt for diagnostics: the run's
checkpoint, its training split and the generator of its last evaluation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from selfnas.cli.pretrain_cmd import load_run
from selfnas.pretrain.metrics import cell_sizes, latent_draws, training_latents
from selfnas.pretrain.objective import Reconstruction
from selfnas.pretrain.trainer import HOLDOUT, evaluation_rng, space_data, split_indices
from selfnas.spaces.batch import ArchBatch


@dataclass
class RunDraws:
    space: Any
    train: ArchBatch
    #: decoded draws per fit (`metrics.FIT_SUFFIXES`: `by_size` only where sizes differ)
    draws: dict[str, Reconstruction]
    epoch: int
    samples: int
    #: archs the run trained and held out on together (the space, or its sample)
    cells: int


def last_evaluation_draws(run_dir: Path) -> RunDraws:
    """The decoded draws of the run's last evaluation, every fit: the very draws the
    metric counted (`metrics.latent_draws` with the run's evaluation generator)."""
    objective, space, config = load_run(run_dir)
    seed = int(config["seed"])
    epoch = int(json.loads((run_dir / "metrics.json").read_text())["final"]["epoch"])
    data = space_data(space, config.get("samples"), seed, config.get("subset"))
    train = data[torch.as_tensor(split_indices(len(data), config.get("holdout", HOLDOUT), seed)[0])]
    samples = int(config.get("validity_samples") or 10_000)
    latents = latent_draws(
        training_latents(objective, train),
        evaluation_rng(seed, epoch - 1),
        samples,
        cell_sizes(train),
    )
    draws = {fit: objective.sample_decode(z) for fit, z in latents.items()}
    return RunDraws(space, train, draws, epoch, samples, len(data))
