"""What an SSWP-NAS search is asked to do, one small frozen dataclass per concern.

`SearchConfig` composes the data, supernet, loss, augmentation, optimiser, schedule and
runtime settings plus the seed; each part validates its own fields and the code that
needs one concern takes only its part. A run directory records the config as one flat
JSON object keyed by field name (`to_dict`; the names the CLI flags spell, e.g.
`arch_lr`, `images_per_epoch`), the form every earlier run wrote, so `from_dict` reads
old and new run directories alike. Field names are unique across the parts, which is
what lets `from_fields` and `with_fields` route a flat name to its part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from selfnas.errors import InvalidOption
from selfnas.oneshot.augment import AugmentConfig
from selfnas.oneshot.network import MacroConfig
from selfnas.oneshot.schedule import PhaseSchedule

OBJECTIVES = ("simclr", "byol", "supervised")


@dataclass(frozen=True)
class DataConfig:
    """Which images the search reads, and how many each epoch's weight steps see."""

    dataset: str = "mnist5k"
    data_root: str | None = None
    batch_size: int = 64
    images_per_epoch: int | None = None  # weight-step images per epoch (None: the whole half)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise InvalidOption(f"batch size must be >= 2, got {self.batch_size}")


@dataclass(frozen=True)
class SupernetConfig:
    """The supernet's depth and width (the final network's), derivation caps and memory."""

    cells: int = 8
    channels: int = 16
    max_skip: int | None = 2  # P-DARTS' caps on a derived cell's skips and pools
    max_pool: int | None = 2
    # leading cells recomputed in backward (None: up to the first reduction cell; -1: all)
    checkpoint_cells: int | None = None
    # "cifar": DARTS' CIFAR stem (cells at the input resolution); "imagenet": its ImageNet
    # reduction stem (224 px -> 28 px before the first cell), see `network.MacroConfig`
    stem: str = "cifar"

    def __post_init__(self) -> None:
        if self.cells < 3:
            raise InvalidOption(f"a DARTS network needs at least 3 cells, got {self.cells}")
        self.macro(1)  # validates the stem against the width

    def macro(self, in_channels: int) -> MacroConfig:
        return MacroConfig(self.cells, self.channels, in_channels, stem=self.stem)

    def recompute_cells(self) -> int:
        """Cells recomputed in backward: by default the full-resolution cells and the first
        reduction cell, which hold over a third of a step's activations for a small share of
        its compute (see benchmarks/oneshot_step.py)."""
        if self.checkpoint_cells is None:
            return self.cells // 3 + 1
        return int(self.checkpoint_cells)


@dataclass(frozen=True)
class LossConfig:
    """What the search minimises: SimCLR's InfoNCE (the paper's self-supervised objective),
    BYOL (the paper's pilot; `temperature` unused, EMA momentum 0.996 -> 1, see
    `objectives.BYOLObjective`) or cross-entropy on the labels (the supervised baseline)."""

    objective: str = "simclr"
    temperature: float = 0.07
    projection_dim: int = 128

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InvalidOption(
                f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
            )

    @property
    def supervised(self) -> bool:
        return self.objective == "supervised"


@dataclass(frozen=True)
class OptimConfig:
    """Weights: SGD with cosine decay and gradient clipping; alphas: Adam."""

    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 4e-5
    grad_clip: float = 5.0
    arch_lr: float = 1e-3
    arch_betas: tuple[float, float] = (0.0, 0.999)
    arch_weight_decay: float = 0.0


@dataclass(frozen=True)
class ScheduleConfig:
    """How the search unfolds: epochs, phase split, pruning order, when alphas step and how
    often a sampled skip is swapped for a parametric op."""

    epochs: int = 10
    split: tuple[float, float, float] = (0.2, 0.4, 0.4)  # warm-up, search, prune
    prune: str = "fpp"
    arch_every: int = 5  # one architecture step per this many weight steps
    skip_dropout: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.skip_dropout <= 1:
            raise InvalidOption(f"skip dropout must be a probability, got {self.skip_dropout}")
        if self.arch_every < 1:
            raise InvalidOption(f"arch_every must be >= 1, got {self.arch_every}")

    def phases(self, cells: int) -> PhaseSchedule:
        return PhaseSchedule(self.epochs, cells, self.split, self.prune)


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how fast the search runs; may change when a run is resumed."""

    device: str = "auto"
    threads: int | None = None
    sync_bn: bool = False
    amp: bool = False
    channels_last: bool = True


_PARTS: dict[str, type] = {
    "data": DataConfig,
    "supernet": SupernetConfig,
    "loss": LossConfig,
    "augment": AugmentConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "runtime": RuntimeConfig,
}
#: flat field name -> the part holding it (`seed` is SearchConfig's own)
_PART_OF: dict[str, str] = {f.name: part for part, cls in _PARTS.items() for f in fields(cls)}
FIELD_NAMES: tuple[str, ...] = (*_PART_OF, "seed")
#: fields added after run directories were first recorded, with the value a record
#: without them means. At that value they stay out of `to_dict` and `identity`, so a
#: run's config.json and checkpoint identity read exactly as before, and older
#: checkpoints resume.
LATER_FIELDS: dict[str, Any] = {"stem": "cifar"}


@dataclass(frozen=True)
class SearchConfig:
    """One search: its parts and the seed every random stream derives from."""

    data: DataConfig = field(default_factory=DataConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        self.phases()  # validates epochs, split and prune mode against the cell count

    def phases(self) -> PhaseSchedule:
        return self.schedule.phases(self.supernet.cells)

    # ---- the flat form: construction, the recorded config, resume identity --------------
    @classmethod
    def from_fields(cls, **values: Any) -> SearchConfig:
        """Build from flat field names (`cells=3, arch_lr=1e-3, device="cpu"`); the rest
        keep their defaults."""
        return cls().with_fields(**values)

    def with_fields(self, **values: Any) -> SearchConfig:
        """A copy with the given flat fields changed."""
        unknown = sorted(set(values) - set(FIELD_NAMES))
        if unknown:
            raise InvalidOption(f"unknown search settings: {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for part in _PARTS:
            own = {k: v for k, v in values.items() if _PART_OF.get(k) == part}
            if own:
                changes[part] = replace(getattr(self, part), **own)
        if "seed" in values:
            changes["seed"] = values["seed"]
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON object a run directory records (`config.json`)."""
        flat: dict[str, Any] = {}
        for part in _PARTS:
            flat.update(asdict(getattr(self, part)))
        flat["seed"] = self.seed
        for name, default in LATER_FIELDS.items():
            if flat.get(name) == default:
                del flat[name]
        return json.loads(json.dumps(flat))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SearchConfig:
        """Read a recorded config (lists become tuples; names it does not know are
        skipped, so a record with extra keys still loads)."""
        known = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in FIELD_NAMES
        }
        return cls.from_fields(**known)

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with its checkpoint (all but the runtime's)."""
        runtime = {f.name for f in fields(RuntimeConfig)}
        return {k: v for k, v in self.to_dict().items() if k not in runtime}
