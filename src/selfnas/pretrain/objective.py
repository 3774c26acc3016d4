"""The interface every self-supervised objective implements, so one trainer, one set of
pretraining metrics and one CLI serve arch2vec (VGAE), NAO/locality and their mixtures.

An objective is an `nn.Module` that owns its encoder, decoder and (optionally) metric term.
The trainer (`selfnas.pretrain.trainer`) only calls the methods below.

Additions (issue 4, part A; additive, nothing above changed):
- `MetricTerm`: the protocol of an optional metric-learning term that an objective such as
  the VGAE adds to its own loss (locality, part B). It brings its own grouped batches and a
  loss on the embeddings of such a batch, so any encoder gets it (VGAE + locality).
- `Objective.evaluating()`: a context manager that switches to eval mode and restores the
  previous mode, so metrics taken between epochs never leave the model in eval mode (the
  published arch2vec code did, which silently turned its VAE into a plain autoencoder).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class MetricTerm(Protocol):
    """An extra loss on embeddings of grouped batches (e.g. locality metric learning).

    `batches` yields `(archs, labels)`: an `ArchBatch` whose rows come in groups (an anchor
    and its positives share a label) and `labels [N]` long; `__call__` returns the weighted
    scalar loss on the `[N, D]` embeddings of those rows."""

    def batches(
        self, train: ArchBatch, rng: np.random.Generator, epoch: int, batch_size: int
    ) -> Iterator[tuple[ArchBatch, torch.Tensor]]: ...

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...


class Objective(nn.Module, ABC):
    """A self-supervised objective over architectures of one space."""

    #: registry name (`arch2vec`, `locality`, `nao`, ...)
    name: str = ""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    @abstractmethod
    def batches(self, train: ArchBatch, rng: np.random.Generator, epoch: int) -> Iterator[Any]:
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
    #: fewest iterations the default training length gives (0: epochs alone decide)
    min_steps: int = 0

    def steps_per_epoch(self, num_train: int) -> int:
        """How many batches `batches` yields for `num_train` archs (progress bars and
        schedulers); grouped objectives override it."""
        return -(-num_train // max(1, int(getattr(self, "batch_size", 32))))

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

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Eval mode for the duration of the block, then the previous mode again."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    @torch.no_grad()
    def latents(self, archs: ArchBatch) -> torch.Tensor:
        """The latent codes that `sample_decode` accepts (default: `embed`)."""
        return self.embed(archs)


def grouped_steps(num_train: int, anchors_per_batch: int) -> int:
    """Batches of a grouped epoch: every arch once as an anchor, `anchors_per_batch` anchors
    a batch, a last batch with a single anchor dropped (it has no negatives)."""
    full, rest = divmod(num_train, max(1, anchors_per_batch))
    return full + int(rest >= 2)
