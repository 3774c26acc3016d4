"""Table 3 of Choi et al. (2020), "Pretraining NAS controllers with locality-based
self-supervised learning": one metric-learning loss per row, with its miner, batch size and
weight lambda_e. The losses and miners are pytorch-metric-learning's own classes.

Where Table 3 is ambiguous the authors' experiment configs decide (noted per row):
ContrastiveLoss's negative margin is 1 (the table's extraction reads 0, which would make
the loss ignore negatives); MarginLoss keeps beta fixed and uses every triplet per anchor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pytorch_metric_learning import losses, miners

from selfnas.errors import InvalidOption
from selfnas.pretrain.triplet_miner import RowwiseTripletMarginMiner


@dataclass(frozen=True)
class MetricLossConfig:
    """One row of Table 3: a pml loss and miner (class name + kwargs), batch and lambda_e."""

    loss: str | None
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    miner: str | None = None
    miner_kwargs: dict[str, Any] = field(default_factory=dict)
    #: architectures per batch (anchors x group size)
    batch_size: int = 512
    #: weight of the metric loss against the reconstruction loss
    lambda_e: float = 1.0

    def build_loss(self) -> Any:
        return None if self.loss is None else getattr(losses, self.loss)(**self.loss_kwargs)

    def build_miner(self) -> Any:
        """pml's miner; `TripletMarginMiner` as its row-wise twin (same triplets, faster)."""
        if self.miner is None:
            return None
        if self.miner == "TripletMarginMiner":
            return RowwiseTripletMarginMiner(**self.miner_kwargs)
        return getattr(miners, self.miner)(**self.miner_kwargs)

    def with_options(self, **options: Any) -> MetricLossConfig:
        """A copy with `batch_size`/`lambda_e` replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in options.items() if v is not None})


def _pair_margins() -> dict[str, Any]:
    """The pair-based losses' margins: positives pulled to 0, negatives pushed past 1."""
    return {"pos_margin": 0.0, "neg_margin": 1.0}


def _semihard_row(
    loss: str, loss_kwargs: dict[str, Any], margin: float, batch_size: int, lambda_e: float
) -> MetricLossConfig:
    """A Table 3 row mined by `TripletMarginMiner` with semihard triplets at `margin`."""
    return MetricLossConfig(
        loss,
        loss_kwargs,
        "TripletMarginMiner",
        {"margin": margin, "type_of_triplets": "semihard"},
        batch_size=batch_size,
        lambda_e=lambda_e,
    )


def _angular_row(
    loss: str, loss_kwargs: dict[str, Any], batch_size: int, lambda_e: float
) -> MetricLossConfig:
    """A Table 3 row mined by `AngularMiner` at an angle of 20 degrees."""
    return MetricLossConfig(
        loss, loss_kwargs, "AngularMiner", {"angle": 20}, batch_size=batch_size, lambda_e=lambda_e
    )


#: Table 3 (plus NoMetricLoss, the reconstruction-only baseline), keyed by pml class name;
#: each row: loss, loss kwargs, (miner margin,) batch size, lambda_e
METRIC_LOSSES: dict[str, MetricLossConfig] = {
    "AngularLoss": _angular_row("AngularLoss", {"alpha": 45}, 256, 0.1),
    "ContrastiveLoss": _semihard_row("ContrastiveLoss", _pair_margins(), 0.1, 512, 1.0),
    "GeneralizedLiftedStructureLoss": _semihard_row(
        "GeneralizedLiftedStructureLoss", _pair_margins(), 0.1, 512, 0.1
    ),
    "LiftedStructureLoss": _semihard_row("LiftedStructureLoss", _pair_margins(), 0.1, 64, 0.05),
    "MarginLoss": _semihard_row(
        "MarginLoss",
        {"margin": 0.2, "nu": 0.0, "beta": 1.2, "learn_beta": False, "triplets_per_anchor": "all"},
        0.2,
        512,
        1.0,
    ),
    "MultiSimilarityLoss": _angular_row(
        "MultiSimilarityLoss", {"alpha": 2.0, "beta": 30.0, "base": 1.0}, 512, 1.0
    ),
    "NPairsLoss": _angular_row("NPairsLoss", {}, 512, 1.0),
    "TripletMarginLoss": _semihard_row("TripletMarginLoss", {"margin": 0.1}, 0.1, 512, 1.0),
    "NoMetricLoss": MetricLossConfig(None, batch_size=512, lambda_e=0.0),
}

#: short command-line aliases (`--loss margin`)
ALIASES: dict[str, str] = {
    "angular": "AngularLoss",
    "contrastive": "ContrastiveLoss",
    "genlifted": "GeneralizedLiftedStructureLoss",
    "lifted": "LiftedStructureLoss",
    "margin": "MarginLoss",
    "multisimilarity": "MultiSimilarityLoss",
    "npairs": "NPairsLoss",
    "triplet": "TripletMarginLoss",
    "none": "NoMetricLoss",
}


def metric_loss_config(name: str) -> MetricLossConfig:
    """The Table 3 row for `name` (pml class name or alias, case-insensitive)."""
    key = name.strip()
    lowered = {k.lower(): k for k in METRIC_LOSSES}
    canonical = ALIASES.get(key.lower()) or lowered.get(key.lower())
    if canonical is None:
        choices = ", ".join(sorted(METRIC_LOSSES) + sorted(ALIASES))
        raise InvalidOption(f"unknown metric loss {name!r}; choose one of {choices}")
    return METRIC_LOSSES[canonical]
