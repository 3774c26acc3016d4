"""A pretraining run rebuilt for diagnostics: its checkpoint and seeded split
(`load_run_split`), and the validity metric's own draws of its last evaluation
(`last_evaluation_draws`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from selfnas.pretrain.metrics import cell_sizes, latent_draws, training_latents
from selfnas.pretrain.objective import Reconstruction
from selfnas.pretrain.trainer import HOLDOUT, evaluation_rng, space_data, split_indices
from selfnas.runs.pretrain import load_run
from selfnas.spaces.batch import ArchBatch


def run_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every run diagnostic takes: the run directory and `--out`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", default=None)
    return parser


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


@dataclass
class RunSplit:
    objective: Any
    space: Any
    config: dict[str, Any]
    #: what the run trained and held out on together (the space, or its sample)
    data: ArchBatch
    train: ArchBatch
    held_out: ArchBatch
    #: the metrics the run reported last (`metrics.json`'s `final`)
    final: dict[str, Any]

    @property
    def epoch(self) -> int:
        """The run's last finished epoch (1-based)."""
        return int(self.final["epoch"])


def load_run_split(run_dir: Path) -> RunSplit:
    """A pretraining run's trained objective with its data and seeded split rebuilt as the
    trainer built them."""
    objective, space, config = load_run(run_dir)
    seed = int(config["seed"])
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    data = space_data(space, config.get("samples"), seed, config.get("subset"))
    train_idx, held_idx = split_indices(len(data), config.get("holdout", HOLDOUT), seed)
    train, held = data[torch.as_tensor(train_idx)], data[torch.as_tensor(held_idx)]
    return RunSplit(objective, space, config, data, train, held, final)


def last_evaluation_draws(run_dir: Path) -> RunDraws:
    """The decoded draws of the run's last evaluation, every fit: the very draws the
    metric counted (`metrics.latent_draws` with the run's evaluation generator)."""
    run = load_run_split(run_dir)
    samples = int(run.config.get("validity_samples") or 10_000)
    latents = latent_draws(
        training_latents(run.objective, run.train),
        evaluation_rng(int(run.config["seed"]), run.epoch - 1),
        samples,
        cell_sizes(run.train),
    )
    draws = {fit: run.objective.sample_decode(z) for fit, z in latents.items()}
    return RunDraws(run.space, run.train, draws, run.epoch, samples, len(run.data))
