"""Training recipes: every hyperparameter that decides what a trained network scores.

A `Recipe` is frozen and validated, so one value names one way of training; `key()` hashes
it into the short id under which a trial store keeps results. `recipe_for(space)` gives the
recipe each benchmark trained its own networks with (sources in each function's docstring),
with any field overridable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from selfnas.errors import InvalidOption

OPTIMIZERS = ("sgd", "rmsprop")
SCHEDULES = ("cosine", "constant")
SCHEDULE_UNITS = ("step", "epoch")


@dataclass(frozen=True)
class Recipe:
    """How to train one network; every field is checked when the recipe is made."""

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    rms_decay: float = 0.9  # RMSProp: decay of the squared-gradient average (torch's alpha)
    rms_eps: float = 1.0  # RMSProp: added to the root of that average
    batch_size: int = 256
    epochs: int = 200
    schedule: str = "cosine"
    schedule_unit: str = "step"  # cosine evaluated per optimiser step or once per epoch
    min_lr: float = 0.0  # where the cosine ends
    warmup_epochs: int = 0  # linear warm-up from 0 over these epochs (per step)
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    cutout: int = 0  # side of the zeroed square; 0 = off
    auxiliary_weight: float = 0.0  # weight of the auxiliary head's loss; 0 = off
    drop_path: float = 0.0  # final drop-path probability, reached linearly; 0 = off
    label_smoothing: float = 0.0
    val_fraction: float = 0.1  # stratified share of the training split held out
    crop_padding: int | None = None  # random-crop padding; None = image side // 8; 0 = off
    flip: bool | None = None  # horizontal flips; None = by dataset (see train.augment)
    amp: bool = False  # mixed precision; honoured on CUDA only

    def __post_init__(self) -> None:
        for f in fields(self):
            kind = str(f.type)  # the annotation's text (annotations are postponed here)
            object.__setattr__(self, f.name, _coerce(f.name, kind, getattr(self, f.name)))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("schedule_unit", self.schedule_unit, SCHEDULE_UNITS)
        _check_range("lr", self.lr, low=0.0, low_open=True)
        _check_range("momentum", self.momentum, low=0.0, high=1.0)
        _check_range("weight_decay", self.weight_decay, low=0.0)
        _check_range("rms_decay", self.rms_decay, low=0.0, high=1.0)
        _check_range("rms_eps", self.rms_eps, low=0.0, low_open=True)
        _check_range("batch_size", self.batch_size, low=1)
        _check_range("epochs", self.epochs, low=1)
        _check_range("min_lr", self.min_lr, low=0.0, high=self.lr, high_closed=True)
        _check_range("warmup_epochs", self.warmup_epochs, low=0, high=self.epochs, high_closed=True)
        _check_range("grad_clip", self.grad_clip, low=0.0)
        _check_range("cutout", self.cutout, low=0)
        _check_range("auxiliary_weight", self.auxiliary_weight, low=0.0)
        _check_range("drop_path", self.drop_path, low=0.0, high=1.0)
        _check_range("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        _check_range("val_fraction", self.val_fraction, low=0.0, high=0.9, high_closed=True)
        if self.crop_padding is not None:
            _check_range("crop_padding", self.crop_padding, low=0)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise InvalidOption("nesterov needs optimizer=sgd and momentum > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """A short stable id of every field's value (types normalised, order-free)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def replace(self, **overrides: Any) -> Recipe:
        """A copy with some fields changed, validated like a new recipe."""
        unknown = sorted(set(overrides) - set(FIELD_NAMES))
        if unknown:
            raise InvalidOption(
                f"unknown recipe field(s) {', '.join(unknown)}; "
                f"choose from {', '.join(FIELD_NAMES)}"
            )
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        return cls().replace(**values)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Recipe))
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, kind: str, value: Any) -> Any:
    """Normalise a value to its field's type, so `lr=1`, `lr=1.0` and `lr="1"` hash alike."""
    optional = kind.endswith("| None")
    if value is None and optional:
        return None
    base = kind.split("|")[0].strip()
    if isinstance(value, str) and base != "str":  # text from a CLI or a JSON option
        value = _parse_value(name, kind, value.strip())
        if value is None:
            return None
    if base == "bool":
        if isinstance(value, bool):
            return value
    elif base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base == "float":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value):
            return float(value)
    elif base == "str" and isinstance(value, str):
        return value
    raise InvalidOption(f"recipe field {name} must be {kind}, got {value!r}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidOption(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_range(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_closed: bool = False,
) -> None:
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value > high if high_closed else value >= high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = "]" if high_closed else ")"
        bounds = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise InvalidOption(f"recipe field {name} must be in {bounds}, got {value}")


def parse_options(texts: Iterable[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (the CLI's `--recipe-option`) -> typed overrides."""
    kinds = {f.name: f.type for f in fields(Recipe)}
    out: dict[str, Any] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in kinds:
            raise InvalidOption(
                f"recipe option {text!r}: expected KEY=VALUE with KEY one of "
                f"{', '.join(FIELD_NAMES)}"
            )
        out[key] = _parse_value(key, str(kinds[key]), raw.strip())
    return out


def _parse_value(name: str, kind: str, raw: str) -> Any:
    lowered = raw.lower()
    if kind.endswith("| None") and lowered in ("none", "auto", "default"):
        return None
    base = kind.split("|")[0].strip()
    try:
        if base == "bool":
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(raw)
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
    except ValueError:
        raise InvalidOption(f"recipe option {name}: {raw!r} is not a {kind}") from None
    return raw


# --- the benchmarks' own recipes ---------------------------------------------------------
def nb201() -> Recipe:
    """NAS-Bench-201 / NATS-Bench (topology): SGD with Nesterov momentum 0.9, lr 0.1
    annealed by cosine per step to 0, weight decay 5e-4, batch 256, 200 epochs (the
    benchmark's 12-epoch fidelity is the same recipe with `epochs=12`), crop + flip.
    Half of CIFAR-10's training split is the benchmark's validation set (`cifar10-valid`)."""
    return Recipe(
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        batch_size=256,
        epochs=200,
        schedule="cosine",
        schedule_unit="step",
        val_fraction=0.5,
    )


def nb101() -> Recipe:
    """NAS-Bench-101 as released (google-research/nasbench `lib/config.py` and
    `model_builder.py`): RMSProp (decay 0.9, momentum 0.9, epsilon 1.0), base lr 0.1 times
    2 TPU shards = 0.2, cosine per step to 0, L2 weight decay 1e-4, batch 256, 108 epochs,
    40k/10k train/validation split of CIFAR-10's training images. torch adds epsilon
    outside the square root (TF inside) and starts the average at 0 (TF at 1): close, not
    identical, early in training."""
    return Recipe(
        optimizer="rmsprop",
        lr=0.2,
        momentum=0.9,
        weight_decay=1e-4,
        rms_decay=0.9,
        rms_eps=1.0,
        batch_size=256,
        epochs=108,
        schedule="cosine",
        schedule_unit="step",
        val_fraction=0.2,
    )


def darts() -> Recipe:
    """DARTS evaluation (the paper's `train.py`, also NAS-Bench-301's basis): SGD momentum
    0.9, lr 0.025 with cosine per epoch to 0, weight decay 3e-4, batch 96, 600 epochs,
    cutout 16, auxiliary head weight 0.4, drop path rising linearly to 0.2, gradient norm
    clipped at 5. DARTS trains on the whole training split; 10% is held out here so a
    search can rank by validation accuracy (`val_fraction=0` restores the paper's)."""
    return Recipe(
        optimizer="sgd",
        lr=0.025,
        momentum=0.9,
        weight_decay=3e-4,
        batch_size=96,
        epochs=600,
        schedule="cosine",
        schedule_unit="epoch",
        grad_clip=5.0,
        cutout=16,
        auxiliary_weight=0.4,
        drop_path=0.2,
        val_fraction=0.1,
    )


#: space name -> its benchmark's recipe (nb301 trains DARTS networks)
RECIPES: dict[str, Callable[[], Recipe]] = {
    "nb201": nb201,
    "nb101": nb101,
    "darts": darts,
    "nb301": darts,
}


def recipe_for(space: str, epochs: int | None = None, **overrides: Any) -> Recipe:
    """The recipe `space`'s benchmark trained with; `epochs` and any field overridable.

    With fewer epochs the schedule is compressed (cosine still ends at `min_lr`)."""
    factory = RECIPES.get(space.lower())
    if factory is None:
        raise InvalidOption(
            f"no training recipe for space {space!r}; choose one of {', '.join(RECIPES)}"
        )
    if epochs is not None:
        overrides = {"epochs": epochs, **overrides}
    return factory().replace(**overrides)


__all__ = ["FIELD_NAMES", "RECIPES", "Recipe", "parse_options", "recipe_for"]
