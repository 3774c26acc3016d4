"""Locality-based metric learning (Choi et al. 2020): architectures a few edits apart
should embed close together.

A batch is A anchors x G (= 8): each anchor plus G-1 positives made by 1-3 random edits
(uniform, as the authors' 1:1:1 ratio), so positives of one anchor lie within edit
distance 6 of each other; the other anchors' groups are the negatives (random pairs are
almost always > 6 apart, Fig. 1a). The loss is reconstruction + lambda_e * metric loss,
with the metric loss and miner from pytorch-metric-learning as set in Table 3
(`locality_losses`).

Three pieces, usable apart:
- `GroupedSampler`: anchors -> grouped `ArchBatch` + group labels, for any objective;
- `MetricTerm`: embeddings of a grouped batch + labels -> lambda_e * metric loss, for any
  encoder (seq, GIN, GATES: the VGAE objective takes one as an option);
- `LocalityObjective`: the paper's method, the NAO controller with both of the above.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from selfnas.errors import InvalidOption
from selfnas.pretrain.locality_losses import (
    ALIASES,
    METRIC_LOSSES,
    MetricLossConfig,
    metric_loss_config,
)
from selfnas.pretrain.nao import NAOObjective, construct_objective, graphs_to_archs
from selfnas.pretrain.objective import grouped_steps
from selfnas.spaces.base import Arch, SearchSpace
from selfnas.spaces.batch import ArchBatch

GROUP_SIZE = 8
MAX_EDITS = 3


@dataclass(frozen=True)
class GroupedBatch:
    """`archs` holds A groups of `group_size` consecutive archs; `labels [A*G]` = group id."""

    archs: ArchBatch
    labels: torch.Tensor
    group_size: int

    def __len__(self) -> int:
        return len(self.archs)

    @property
    def num_groups(self) -> int:
        return len(self.archs) // self.group_size


class GroupedSampler:
    """Builds anchor groups: anchor + (group_size - 1) positives, each `1..max_edits`
    random edits of the anchor (`SearchSpace.random_edit`). All randomness comes from
    the generator passed in, so a batch sequence is reproducible from the trainer's RNG."""

    def __init__(
        self, space: SearchSpace, group_size: int = GROUP_SIZE, max_edits: int = MAX_EDITS
    ) -> None:
        if group_size < 2:
            raise InvalidOption(f"group_size must be >= 2 (anchor + positives), got {group_size}")
        if max_edits < 1:
            raise InvalidOption(f"max_edits must be >= 1, got {max_edits}")
        self.space = space
        self.group_size = int(group_size)
        self.max_edits = int(max_edits)

    def group(self, anchor: Arch, rng: np.random.Generator) -> list[Arch]:
        """The anchor followed by its positives."""
        edits = rng.integers(1, self.max_edits + 1, size=self.group_size - 1)
        return [anchor] + [self.space.random_edit(anchor, int(k), rng) for k in edits]

    def make_batch(self, anchors: Sequence[Arch], rng: np.random.Generator) -> GroupedBatch:
        archs: list[Arch] = []
        for anchor in anchors:
            archs.extend(self.group(anchor, rng))
        labels = torch.arange(len(anchors)).repeat_interleave(self.group_size)
        return GroupedBatch(self.space.batch(archs), labels, self.group_size)

    def batches(
        self,
        train: ArchBatch | Sequence[Arch],
        rng: np.random.Generator,
        anchors_per_batch: int,
    ) -> Iterator[GroupedBatch]:
        """One epoch: every training arch once as an anchor, in random order. A final
        batch with a single anchor is dropped (it has no negatives)."""
        if anchors_per_batch < 2:
            raise InvalidOption(
                f"a grouped batch needs >= 2 anchors (negatives come from other groups); "
                f"got {anchors_per_batch}"
            )
        order = rng.permutation(len(train))
        for start in range(0, len(order), anchors_per_batch):
            idx = order[start : start + anchors_per_batch]
            if len(idx) < 2:
                break
            yield self.make_batch(self.anchors(train, idx), rng)

    def anchors(self, train: ArchBatch | Sequence[Arch], idx: np.ndarray) -> list[Arch]:
        """Archs at `idx`; node-form rows are turned back into archs by `space.decode`."""
        if not isinstance(train, ArchBatch):
            return [train[int(i)] for i in idx]

        archs = graphs_to_archs(self.space, train[idx])
        if any(a is None for a in archs):
            raise InvalidOption("training batch holds a graph that is not in the space")
        return archs


class MetricTerm(nn.Module):
    """`lambda_e * metric_loss(embeddings, labels)` with the paper's loss, miner and weight.

    Call it on the `[A*G, D]` embeddings of a grouped batch (any encoder) and its labels;
    the result is already weighted, ready to add to the reconstruction loss.
    `NoMetricLoss` gives a zero that still carries a graph to the embeddings. With a
    `sampler` it also yields the grouped batches (`batches`), which is all an objective
    such as the VGAE needs to add locality (`selfnas.pretrain.objective.MetricTerm`)."""

    def __init__(
        self,
        loss: str | MetricLossConfig = "MarginLoss",
        lambda_e: float | None = None,
        sampler: GroupedSampler | None = None,
    ) -> None:
        super().__init__()
        config = metric_loss_config(loss) if isinstance(loss, str) else loss
        self.config = config.with_options(lambda_e=lambda_e)
        self.loss_fn = self.config.build_loss()
        self.miner = self.config.build_miner()
        self.sampler = sampler

    @property
    def name(self) -> str:
        return self.config.loss or "NoMetricLoss"

    @property
    def lambda_e(self) -> float:
        return float(self.config.lambda_e)

    @property
    def batch_size(self) -> int:
        """Table 3's batch size (architectures) for this loss."""
        return int(self.config.batch_size)

    def unweighted(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The metric loss alone (for logging and tests)."""
        if self.loss_fn is None:
            return embeddings.sum() * 0.0
        labels = labels.to(embeddings.device)
        tuples = self.miner(embeddings, labels) if self.miner is not None else None
        return self.loss_fn(embeddings, labels, tuples)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.lambda_e * self.unweighted(embeddings, labels)

    def batches(
        self,
        train: ArchBatch,
        rng: np.random.Generator,
        epoch: int,
        batch_size: int | None = None,
    ) -> Iterator[tuple[ArchBatch, torch.Tensor]]:
        """Grouped `(archs, labels)` batches of `batch_size` archs (default: Table 3's),
        every training arch once as an anchor."""
        if self.sampler is None:
            raise InvalidOption("this metric term has no sampler; build it with metric_term()")
        size = self.batch_size if batch_size is None else int(batch_size)
        anchors = max(2, size // self.sampler.group_size)
        for batch in self.sampler.batches(train, rng, anchors):
            yield batch.archs, batch.labels

    def extra_repr(self) -> str:
        return f"{self.name}, lambda_e={self.lambda_e}"


def metric_term(
    space: SearchSpace,
    loss: str = "MarginLoss",
    lambda_e: float | None = None,
    group_size: int = GROUP_SIZE,
    max_edits: int = MAX_EDITS,
) -> MetricTerm:
    """A locality metric term with its grouped sampler, for objectives other than NAO
    (e.g. arch2vec's VGAE on GIN or GATES: a combination neither paper tried)."""
    return MetricTerm(loss, lambda_e, GroupedSampler(space, group_size, max_edits))


class LocalityObjective(NAOObjective):
    """Choi et al.'s pretraining: NAO reconstruction + lambda_e * metric loss on grouped
    batches. `loss="none"` is the paper's NoMetricLoss baseline (same data, no term)."""

    name = "locality"

    def __init__(
        self,
        space: SearchSpace,
        *,
        loss: str = "MarginLoss",
        lambda_e: float | None = None,
        batch_size: int | None = None,
        group_size: int = GROUP_SIZE,
        max_edits: int = MAX_EDITS,
        **nao_options: Any,
    ) -> None:
        config = metric_loss_config(loss).with_options(batch_size=batch_size)
        if config.batch_size % group_size:
            raise InvalidOption(
                f"batch_size {config.batch_size} is not a multiple of group_size {group_size}"
            )
        super().__init__(space, batch_size=config.batch_size, **nao_options)
        self.sampler = GroupedSampler(space, group_size, max_edits)
        self.metric = MetricTerm(config, lambda_e=lambda_e, sampler=self.sampler)

    def batches(
        self, train: ArchBatch, rng: np.random.Generator, epoch: int
    ) -> Iterator[GroupedBatch]:
        return self.sampler.batches(train, rng, self.batch_size // self.sampler.group_size)

    def steps_per_epoch(self, num_train: int) -> int:
        return grouped_steps(num_train, self.batch_size // self.sampler.group_size)

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        nll, embedding, parts = self.reconstruction(batch.archs)
        metric = self.metric.unweighted(embedding, batch.labels)
        total = nll + self.metric.lambda_e * metric
        parts["metric"] = float(metric.detach())
        parts["loss"] = float(total.detach())
        return total, parts


def build_locality(space: SearchSpace, **options: Any) -> LocalityObjective:
    """Registry factory for `locality` (options: `loss`, `lambda_e`, `batch_size`,
    `group_size`, `max_edits`, and the NAO controller/optimiser options)."""
    return construct_objective(LocalityObjective, space, options)


#: objective registry entries contributed by this module (name -> factory(space, **opts))
OBJECTIVES = {"locality": build_locality}

#: every metric-loss name `loss=` accepts
LOSS_NAMES: tuple[str, ...] = tuple(METRIC_LOSSES) + tuple(ALIASES)

__all__ = [
    "GROUP_SIZE",
    "LOSS_NAMES",
    "MAX_EDITS",
    "OBJECTIVES",
    "GroupedBatch",
    "GroupedSampler",
    "LocalityObjective",
    "MetricTerm",
    "build_locality",
    "metric_term",
]
