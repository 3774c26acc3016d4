"""Objective names -> factories, for the CLI and the reproduction table.

A factory is called as `factory(space, **opts)` and returns an `Objective`. Built in:
`arch2vec` (GIN VGAE), `vgae` and `gae` (the GCN baselines of arch2vec's table); part B's
`locality` and `nao` live in their own modules. Adding an objective is its module plus one
line in `OBJECTIVE_REGISTRY` (imported lazily, so the table costs no imports).

`--loss` other than `none` puts a metric term on the arch2vec objective, built from part B's
`selfnas.pretrain.locality.GroupedSampler` and `MetricTerm` (options in `metric_opts`:
`group_size`, `max_edits`, `lambda_e`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Any

import numpy as np
import torch
from torch import nn

from selfnas.errors import InvalidOption
from selfnas.pretrain.objective import MetricTerm, Objective
from selfnas.registry import Registry
from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import ArchBatch

Factory = Callable[..., Objective]

#: objective name -> factory(space, **opts) -> Objective; imported lazily
OBJECTIVE_REGISTRY: Registry[Factory] = Registry(
    "objective",
    {
        "arch2vec": ("selfnas.pretrain.registry:arch2vec", "GIN VGAE"),
        "vgae": ("selfnas.pretrain.registry:vgae", "GCN VGAE baseline"),
        "gae": ("selfnas.pretrain.registry:gae", "GCN autoencoder baseline"),
        "locality": ("selfnas.pretrain.locality:build_locality", "metric learning on edits"),
        "nao": ("selfnas.pretrain.nao:build_nao", "NAO LSTM autoencoder"),
    },
)

#: default epochs per space (arch2vec: 8 on NB101, 10 on NB201 and DARTS)
DEFAULT_EPOCHS: dict[str, int] = {"nb101": 8, "nb201": 10, "darts": 10, "nbgraph": 10}


#: plain arch2vec epochs where the published count stops short (measured: on NB201,
#: validity over five seeds (diagonal fit) is 0.852 +- 0.055 after 10 epochs, 0.904 +-
#: 0.009 after 20 (full-covariance fit, on another machine: 0.924-0.951 / 0.995 +- 0.002);
#: on DARTS, reconstruction 0.753 after 10, 0.940 after 20)
ARCH2VEC_EPOCHS: dict[str, int] = {"nb201": 20, "darts": 20}

#: arch2vec (GIN VGAE) options whose best value depends on the space, measured in
#: docs/results/pretraining.md; options given explicitly override them
SPACE_DEFAULTS: dict[str, dict[str, Any]] = {
    "nb101": {"vertex_ids": True, "kl_weight": 4.5e-3},
    "darts": {"vertex_ids": True},
}


#: the published arch2vec's values of the options `SPACE_DEFAULTS` changes
PUBLISHED_OPTIONS: dict[str, Any] = {"vertex_ids": False, "kl_weight": 5e-4}


def _has_space_defaults(objective: str, options: dict[str, Any]) -> bool:
    """`SPACE_DEFAULTS` apply to arch2vec with its own GIN encoder only."""
    return objective == "arch2vec" and options.get("encoder") in (None, "gin")


def resolve_options(objective: str, space_name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` over the space's defaults for `objective` (what a run directory records)."""
    if not _has_space_defaults(objective, options):
        return dict(options)
    return SPACE_DEFAULTS.get(space_name, {}) | options


def published_options(objective: str, space_name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` with the published value of every option the space's defaults would
    change, stated, so the run trains (and records) the published objective."""
    if not _has_space_defaults(objective, options):
        return dict(options)
    changed = {k: PUBLISHED_OPTIONS[k] for k in SPACE_DEFAULTS.get(space_name, {})}
    return changed | options


def _plain_gin_arch2vec(objective: Objective) -> bool:
    """arch2vec with its GIN and no metric term: what the per-space defaults were measured on."""
    from selfnas.encoders.gin import GIN
    from selfnas.pretrain.vgae import VGAE

    return (
        isinstance(objective, VGAE)
        and objective.name == "arch2vec"
        and objective.metric is None
        and isinstance(objective.encoder, GIN)
    )


def default_epochs(objective: Objective, space_name: str, num_train: int) -> int:
    """Epochs when none are given: the space's default, lengthened to at least the
    objective's `min_steps` iterations (NAO-family controllers: an NB201 epoch is ~28
    iterations, and a controller needs ~2,800 before it reconstructs anything)."""
    epochs = DEFAULT_EPOCHS.get(space_name, 10)
    if _plain_gin_arch2vec(objective):
        epochs = ARCH2VEC_EPOCHS.get(space_name, epochs)
    per_epoch = max(1, objective.steps_per_epoch(num_train))
    return max(epochs, -(-objective.min_steps // per_epoch))


class GroupedMetric(nn.Module):
    """Adapts part B's `GroupedSampler` + `MetricTerm` to the `MetricTerm` protocol the VGAE
    takes (a module, so a metric loss with parameters is trained and checkpointed)."""

    def __init__(self, sampler: Any, term: nn.Module) -> None:
        super().__init__()
        self.sampler = sampler
        self.term = term

    def batches(
        self, train: ArchBatch, rng: np.random.Generator, epoch: int, batch_size: int
    ) -> Iterator[tuple[ArchBatch, torch.Tensor]]:
        anchors = max(2, batch_size // self.sampler.group_size)
        device = train.adj.device
        for grouped in self.sampler.batches(train, rng, anchors):
            yield grouped.archs.to(device), grouped.labels.to(device)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.term(embeddings, labels)


def _metric(space: SearchSpace, loss: str | None, opts: dict[str, Any]) -> MetricTerm | None:
    """The locality metric term for `--loss` (None for `none`), from part B's module."""
    if loss in (None, "none"):
        return None
    try:
        locality = import_module("selfnas.pretrain.locality")
    except ModuleNotFoundError as exc:
        if exc.name != "selfnas.pretrain.locality":
            raise
        raise InvalidOption(f"--loss {loss} needs selfnas.pretrain.locality") from None
    metric_opts = dict(opts.pop("metric_opts", None) or {})
    sampler = locality.GroupedSampler(
        space,
        group_size=metric_opts.pop("group_size", locality.GROUP_SIZE),
        max_edits=metric_opts.pop("max_edits", locality.MAX_EDITS),
    )
    return GroupedMetric(sampler, locality.MetricTerm(loss, **metric_opts))


def arch2vec(space: SearchSpace, encoder: str | None = None, loss: str | None = None, **opts: Any):
    from selfnas.pretrain.vgae import build

    opts = resolve_options("arch2vec", space.name, {"encoder": encoder, **opts})
    opts.pop("encoder")

    metric = _metric(space, loss, opts)
    return build(space, encoder=encoder or "gin", variational=True, metric=metric, **opts)


def vgae(space: SearchSpace, encoder: str | None = None, loss: str | None = None, **opts: Any):
    obj = arch2vec(space, encoder=encoder or "gcn", loss=loss, **opts)
    obj.name = "vgae"
    return obj


def gae(space: SearchSpace, encoder: str | None = None, loss: str | None = None, **opts: Any):
    from selfnas.pretrain.vgae import build

    metric = _metric(space, loss, opts)
    obj = build(space, encoder=encoder or "gcn", variational=False, metric=metric, **opts)
    obj.name = "gae"
    return obj


#: the built-in objectives, by name (part B's register in `OBJECTIVE_REGISTRY` too)
OBJECTIVES: dict[str, Factory] = {"arch2vec": arch2vec, "vgae": vgae, "gae": gae}


def objectives() -> dict[str, Factory]:
    """Every registered objective's factory, by name (imports them all)."""
    return {name: OBJECTIVE_REGISTRY.get(name) for name in OBJECTIVE_REGISTRY}


def get_objective(name: str, space: SearchSpace, **opts: Any) -> Objective:
    """Build objective `name` on `space`; `None` options are left to the factory defaults."""
    factory = OBJECTIVE_REGISTRY.get(name)
    return factory(space, **{k: v for k, v in opts.items() if v is not None})
