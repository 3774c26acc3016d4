"""The interface every self-supervised objective implements, so one trainer, one set of
pretraining metrics and one CLI serve arch2vec (VGAE), NAO/locality and their mixtures.

An objective is an `nn.Module` that owns its encoder, decoder and (optionally) metric term.
The trainer (`selfnas.pretrain.trainer`) only calls the methods below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import ArchBatch


@dataclass
class Reconstruction:
    """A decoder's guess of node-form graphs: `adj [N,V,V]` 0/1 and `ops [N,V]` op indices."""

    adj: torch.Tensor
    ops: torch.Tensor


class Objective(nn.Module, ABC):
    """A self-supervised objective over architectures of one space."""

    #: registry name (`arch2vec`, `locality`, `nao`, ...)
    name: str = ""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    @abstractmethod
    def batches(
        self, train: ArchBatch, rng: np.random.Generator, epoch: int
    ) -> Iterator[Any]:
        """One epoch of training batches drawn from `train` (deterministic given `rng`)."""

    @abstractmethod
    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss to minimise on one batch, plus named parts for logging."""

    @abstractmethod
    def configure_optimizer(
        self, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """The paper's optimiser (and per-step scheduler, if any) for this objective."""

    #: gradient-norm clip applied by the trainer (None: no clipping)
    grad_clip: float | None = 5.0

    @abstractmethod
    @torch.no_grad()
    def embed(self, archs: ArchBatch) -> torch.Tensor:
        """Deterministic architecture embeddings `[N, D]` (e.g. the mean of the means)."""

    @abstractmethod
    @torch.no_grad()
    def reconstruct(self, archs: ArchBatch) -> Reconstruction:
        """Encode then decode without sampling noise (reconstruction accuracy)."""

    @torch.no_grad()
    def sample_decode(self, embeddings: torch.Tensor) -> Reconstruction:
        """Decode latent samples drawn around the training embeddings (validity/uniqueness).

        `embeddings` has the shape the objective's latent has (per node for VGAE).
        Objectives without a generative decoder raise NotImplementedError."""
        raise NotImplementedError(f"{self.name} cannot decode latent samples")

    @torch.no_grad()
    def latents(self, archs: ArchBatch) -> torch.Tensor:
        """The latent codes that `sample_decode` accepts (default: `embed`)."""
        return self.embed(archs)
