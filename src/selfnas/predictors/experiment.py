"""The sample-efficiency experiment: train a predictor on N labelled archs, rank the rest.

For each seed: draw N training archs from the training pool (the first 90 % of one fixed
permutation of the space), build the encoder (random or from a self-supervised checkpoint),
train with the chosen loss, then score (a) the fixed held-out split (the last 10 %, as
GATES does) and (b) every arch outside the training set. Results are mean ± std over seeds
plus every seed's numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from selfnas.encoders import GraphEncoder
from selfnas.errors import DataNotFound, InvalidOption
from selfnas.metrics import ranking_report
from selfnas.predictors.data import Labelled
from selfnas.predictors.losses import LOSSES
from selfnas.predictors.model import Predictor, make_inputs
from selfnas.predictors.trainer import TrainConfig, score, train
from selfnas.runs.pretrain import PretrainRun
from selfnas.runtime import seed_everything
from selfnas.stats import mean_std

#: encoders the experiment knows by name (the registry may offer more)
ENCODER_NAMES = ("gates", "gin", "gcn", "mlp", "seq")

#: per-encoder defaults for predictor runs. GATES reads the output node: on NB201 this
#: gives Kendall tau 0.79 at 156 archs against 0.68 for the mean over nodes (docs/gates.md).
ENCODER_DEFAULTS: dict[str, dict[str, Any]] = {"gates": {"readout": "output"}}

#: training archs a comparator predictor ranks every arch against
COMPARATOR_REFERENCE = 8

#: metrics summarised over seeds
SUMMARY_KEYS = ("kendall_tau", "spearman", "n_at_5", "n_at_10", "precision_at_10")


@dataclass(frozen=True)
class PredictSpec:
    """One predictor configuration, run over `seeds` seeds."""

    encoder: str = "gates"
    loss: str = "hinge"
    train_size: int = 156
    seeds: int = 3
    epochs: int = 300
    hidden: tuple[int, ...] = (300, 300, 300)
    dropout: float = 0.1
    lr: float = 1e-3
    batch_size: int = 512
    pretrained: str | None = None
    freeze: bool = False
    encoder_opts: dict[str, Any] = field(default_factory=dict)
    first_seed: int = 0
    schedule: str = "constant"
    #: pairs per epoch (pairwise losses): at most `pair_ratio * n` (GATES: 4)
    pair_ratio: float = 4.0
    #: zero-cost proxies (`selfnas zc` output in `scores`): read as extra features of
    #: the predictor (`proxy_features`) and/or regressed by the encoder on every arch of
    #: the space, label-free, for `proxy_pretrain` epochs before the labelled training
    proxies: tuple[str, ...] = ()
    scores: str | None = None
    proxy_features: bool = True
    proxy_pretrain: int = 0
    #: predictors trained from different initialisations on the same archs; their
    #: scores are averaged as quantiles (1: a single predictor, exactly as before)
    ensemble: int = 1

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InvalidOption(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.train_size < 2:
            raise InvalidOption(f"train size must be >= 2, got {self.train_size}")
        if self.seeds < 1:
            raise InvalidOption(f"seeds must be >= 1, got {self.seeds}")
        if self.ensemble < 1:
            raise InvalidOption(f"ensemble must be >= 1 predictor, got {self.ensemble}")
        if bool(self.proxies) != bool(self.scores):
            raise InvalidOption("proxy features need both --proxies NAMES and --scores FILE")
        if self.proxy_pretrain < 0 or (self.proxy_pretrain and not self.proxies):
            raise InvalidOption("--proxy-pretrain needs --proxies (and epochs >= 0)")
        if self.proxies and not (self.proxy_features or self.proxy_pretrain):
            raise InvalidOption("proxies given but used neither as features nor to pretrain")

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (`hidden` as a list)."""
        return asdict(self) | {"hidden": list(self.hidden), "proxies": list(self.proxies)}

    @property
    def label(self) -> str:
        init = "random" if self.pretrained is None else Path(self.pretrained).name
        extra = ""
        if self.proxies and self.proxy_features:
            extra += f"/features={'+'.join(self.proxies)}"
        if self.proxy_pretrain:
            extra += f"/proxy-pretrain={self.proxy_pretrain}"
        if self.ensemble > 1:
            extra += f"/ensemble={self.ensemble}"
        return f"{self.encoder}/{self.loss}/n={self.train_size}/init={init}{extra}"


# --------------------------------------------------------------------------- encoders
def build_encoder(name: str, space: Any, **opts: Any) -> GraphEncoder:
    """The encoder called `name` for `space` from the shared registry, with this
    experiment's per-encoder defaults (`ENCODER_DEFAULTS`) under the given options."""
    from selfnas import encoders

    opts = {**ENCODER_DEFAULTS.get(name, {}), **opts}
    return encoders.get_encoder(name, space, **opts)


def _pretrain_run(directory: str | Path) -> tuple[PretrainRun, Path]:
    """The run a `--pretrained` path names (its directory, or a checkpoint file in it) and
    the checkpoint to read."""
    path = Path(directory)
    if path.is_dir():
        run = PretrainRun(path)
        return run, run.checkpoint_path
    return PretrainRun(path.parent), path


def load_pretrained(encoder: nn.Module, directory: str | Path) -> dict[str, Any]:
    """Copy a pretraining run's encoder weights (`checkpoint.pt` -> `model` state, keys
    `encoder.*`) into `encoder`; returns the run's config. Shapes must match."""
    run, checkpoint = _pretrain_run(directory)
    if not checkpoint.exists():
        raise DataNotFound(f"no pretraining checkpoint at {checkpoint}")
    weights = run.encoder_weights(checkpoint)
    mine = encoder.state_dict()
    bad = [k for k, v in weights.items() if k in mine and mine[k].shape != v.shape]
    missing = [k for k in mine if k not in weights]
    if bad or missing:
        raise InvalidOption(
            f"{checkpoint} was made with another encoder configuration "
            f"(shape differs: {bad[:3]}, missing: {missing[:3]})"
        )
    encoder.load_state_dict({k: weights[k] for k in mine})
    return run.read_config() or {}


def pretrained_encoder_opts(directory: str | Path) -> tuple[str | None, dict[str, Any]]:
    """(encoder name, encoder options) of a `selfnas pretrain` run, from its config.json
    (`options.encoder`, else the objective's default encoder)."""
    return _pretrain_run(directory)[0].encoder


# --------------------------------------------------------------------------- running
def _graphs_for(encoder: GraphEncoder, data: Labelled) -> Any:
    key = f"{type(encoder).__name__}:{encoder.input_form}"
    return data.inputs(key, lambda archs: make_inputs(encoder, data.space, archs))


def _proxy_quantiles(data: Labelled, spec: PredictSpec) -> torch.Tensor:
    """Every arch's proxy quantiles [N, P] (computed once per data and proxy set)."""
    from selfnas.predictors.features import proxy_features, read_scores

    assert spec.scores is not None  # checked by PredictSpec
    return data.inputs(
        f"proxies:{spec.scores}:{','.join(spec.proxies)}",
        lambda archs: proxy_features(data.space, archs, read_scores(spec.scores), spec.proxies),
    )


def _inputs_for(encoder: GraphEncoder, data: Labelled, spec: PredictSpec) -> Any:
    graphs = _graphs_for(encoder, data)
    if not (spec.proxies and spec.proxy_features):
        return graphs
    from selfnas.predictors.features import WithFeatures

    return WithFeatures(graphs, _proxy_quantiles(data, spec))


def proxy_pretrain(
    encoder: GraphEncoder,
    data: Labelled,
    spec: PredictSpec,
    rng: np.random.Generator,
    device: torch.device | str,
) -> list[float]:
    """Train `encoder` (through a throw-away head) to rank every arch of the space by the
    mean quantile of the proxies: a label-free task whose order correlates with accuracy,
    so the labelled archs start the encoder from a useful place."""
    target = _proxy_quantiles(data, spec).mean(dim=1).numpy()
    scratch = Predictor(encoder, spec.hidden, spec.dropout)
    config = TrainConfig(
        loss=spec.loss if spec.loss != "comparator" else "hinge",
        epochs=spec.proxy_pretrain,
        batch_size=spec.batch_size,
        lr=spec.lr,
        pair_ratio=spec.pair_ratio,
    )
    return train(scratch, _graphs_for(encoder, data), target, config, rng, device)


@dataclass
class _Member:
    """One trained predictor of a seed, with what it scores every arch against."""

    predictor: Predictor
    inputs: Any
    reference: Any
    history: list[float]
    pretrain_loss: float | None

    def score(self, device: torch.device | str) -> np.ndarray:
        return score(self.predictor, self.inputs, reference=self.reference, device=device)


def _mean_quantile(scores: Sequence[np.ndarray]) -> np.ndarray:
    """Members' scores averaged on one scale: each as its quantile over all archs."""
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def _train_member(
    spec: PredictSpec,
    data: Labelled,
    train_idx: np.ndarray,
    rng: np.random.Generator,
    device: torch.device | str,
) -> _Member:
    """A predictor trained on `train_idx`; members of an ensemble differ only in the
    random state they start from (initialisation, pair draws, dropout)."""
    opts = dict(spec.encoder_opts)
    if spec.pretrained is not None:
        name, saved_opts = pretrained_encoder_opts(spec.pretrained)
        if name is not None and name != spec.encoder:
            raise InvalidOption(
                f"checkpoint {spec.pretrained} holds a {name!r} encoder, not {spec.encoder!r}"
            )
        opts = {**saved_opts, **opts}
        if spec.encoder == "gates":
            # self-supervised objectives train GATES on the node form: predict on it too
            opts.setdefault("form", "node")
    encoder = build_encoder(spec.encoder, data.space, **opts)
    if spec.pretrained is not None:
        load_pretrained(encoder, spec.pretrained)
    pretrain_loss = None
    if spec.proxy_pretrain:
        pretrain_loss = proxy_pretrain(encoder, data, spec, rng, device)[-1]
    predictor = Predictor(
        encoder,
        spec.hidden,
        spec.dropout,
        comparator=spec.loss == "comparator",
        features=len(spec.proxies) if spec.proxy_features else 0,
    )
    inputs = _inputs_for(encoder, data, spec)
    config = TrainConfig(
        loss=spec.loss,
        epochs=spec.epochs,
        batch_size=spec.batch_size,
        lr=spec.lr,
        freeze_encoder=spec.freeze,
        schedule=spec.schedule,
        pair_ratio=spec.pair_ratio,
    )
    history = train(predictor, inputs[train_idx], data.targets[train_idx], config, rng, device)
    reference = None
    if predictor.comparator is not None:
        reference = inputs[comparator_reference(data.targets[train_idx], train_idx)]
    return _Member(predictor, inputs, reference, history, pretrain_loss)


def run_seed(
    spec: PredictSpec, data: Labelled, seed: int, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Train and evaluate one predictor; the numbers of one seed."""
    rng = seed_everything(seed)
    pool, heldout = data.split()
    if spec.train_size > len(pool):
        raise InvalidOption(f"train size {spec.train_size} exceeds the pool of {len(pool)}")
    train_idx = rng.choice(pool, size=spec.train_size, replace=False)
    start = time.perf_counter()
    members = [_train_member(spec, data, train_idx, rng, device) for _ in range(spec.ensemble)]
    trained = time.perf_counter()
    scores = (
        members[0].score(device)
        if spec.ensemble == 1
        else _mean_quantile([member.score(device) for member in members])
    )
    history, pretrain_loss = members[-1].history, members[-1].pretrain_loss
    done = time.perf_counter()
    rest = np.ones(len(data), dtype=bool)
    rest[train_idx] = False
    return {
        "seed": seed,
        **ranking_report(scores[rest], data.targets[rest]),
        "heldout": ranking_report(scores[heldout], data.targets[heldout]),
        "train_seconds": trained - start,
        "score_seconds": done - trained,
        "final_loss": history[-1] if history else None,
        "proxy_pretrain_loss": pretrain_loss,
    }


def comparator_reference(
    targets: np.ndarray, index: np.ndarray, size: int = COMPARATOR_REFERENCE
) -> np.ndarray:
    """Training archs a comparator ranks against: `size` of them at evenly spaced target
    quantiles (the cost of ranking grows with this number, the information hardly does)."""
    order = index[np.argsort(targets, kind="stable")]
    if len(order) <= size:
        return order
    return order[np.linspace(0, len(order) - 1, size).round().astype(int)]


def summarise(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean (and sample std, None for one seed) over seeds of the 'rest' metrics; mean of
    the held-out ones."""
    out: dict[str, Any] = {}
    for key in SUMMARY_KEYS:
        out[key], out[f"{key}_std"], _ = mean_std(row[key] for row in per_seed)
    out["heldout"] = {
        key: float(np.mean([row["heldout"][key] for row in per_seed])) for key in SUMMARY_KEYS
    }
    out["seconds_per_run"] = float(
        np.mean([row["train_seconds"] + row["score_seconds"] for row in per_seed])
    )
    return out


def collect(
    spec: PredictSpec, data: Labelled, per_seed: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The result of one configuration from its seeds' rows: summary keys, `per_seed`,
    the spec and the data's size and source."""
    return {
        **summarise(per_seed),
        "per_seed": list(per_seed),
        "spec": spec.to_dict(),
        "num_archs": len(data),
        "source": data.source,
    }


def run(
    spec: PredictSpec,
    data: Labelled,
    device: torch.device | str = "cpu",
    on_seed: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """All seeds of one configuration: summary keys, `per_seed`, and the spec."""
    per_seed = []
    for seed in range(spec.first_seed, spec.first_seed + spec.seeds):
        row = run_seed(spec, data, seed, device)
        per_seed.append(row)
        if on_seed is not None:
            on_seed(row)
    return collect(spec, data, per_seed)


def train_size_of(data_size: int, size: int | None, fraction: float | None) -> int:
    """`--train-size N` or `--train-fraction F` (a share of the whole space, floored:
    1 % of NB201 is 156)."""
    if (size is None) == (fraction is None):
        raise InvalidOption("give exactly one of --train-size and --train-fraction")
    if size is not None:
        return int(size)
    if not 0 < fraction < 1:  # type: ignore[operator]
        raise InvalidOption(f"--train-fraction must be in (0, 1), got {fraction}")
    return int(fraction * data_size)  # type: ignore[operator]
