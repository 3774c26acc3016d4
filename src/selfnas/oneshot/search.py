"""The SSWP-NAS search loop: warm-up, alternating weight/architecture steps, progressive prune.

Weights (SGD, cosine, clip 5) train on one half of the training images, alphas (Adam,
betas (0, 0.999)) on the other, one architecture step every `arch_every` weight steps after
warm-up. Every epoch ends with an atomic checkpoint; all randomness of an epoch (shuffles,
augmentations, sampled paths) is seeded from (seed, epoch), so a resumed run ends exactly
where the uninterrupted one would. The run directory receives `config.json`,
`checkpoint.pt`, `genotypes.txt`, `network.pt` (the concomitant weights) and `result.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from selfnas.atomic import save_torch, write_json, write_text
from selfnas.errors import InvalidOption, ResumeMismatch
from selfnas.oneshot.augment import AugmentConfig, Normalize, build_augment
from selfnas.oneshot.data import ImageData, load_dataset
from selfnas.oneshot.derive import darts_summary, genotypes_from_text, genotypes_to_text
from selfnas.oneshot.distributed import (
    DistContext,
    average_gradients,
    convert_sync_batchnorm,
    current,
)
from selfnas.oneshot.network import MacroConfig, save_network
from selfnas.oneshot.objectives import SimCLRObjective, SupervisedObjective
from selfnas.oneshot.schedule import PhaseSchedule
from selfnas.oneshot.supernet import Supernet

OBJECTIVES = ("simclr", "supervised")
RUNTIME_FIELDS = ("device", "threads", "sync_bn", "amp", "channels_last")  # may change on resume


@dataclass(frozen=True)
class SearchConfig:
    dataset: str = "mnist5k"
    data_root: str | None = None
    cells: int = 8
    channels: int = 16
    epochs: int = 10
    batch_size: int = 64
    images_per_epoch: int | None = None  # weight-step images per epoch (None: the whole half)
    objective: str = "simclr"
    temperature: float = 0.07
    projection_dim: int = 128
    prune: str = "fpp"
    split: tuple[float, float, float] = (0.2, 0.4, 0.4)
    skip_dropout: float = 0.2
    max_skip: int | None = 2
    max_pool: int | None = 2
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 4e-5
    grad_clip: float = 5.0
    arch_lr: float = 1e-3
    arch_betas: tuple[float, float] = (0.0, 0.999)
    arch_weight_decay: float = 0.0
    arch_every: int = 5
    crop_scale: tuple[float, float] = (0.3, 1.0)
    flip: bool = False
    jitter: float = 0.4
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    sync_bn: bool = False
    amp: bool = False
    channels_last: bool = True
    # leading cells recomputed in backward (None: up to the first reduction cell; -1: all)
    checkpoint_cells: int | None = None

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InvalidOption(
                f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
            )
        if not 0 <= self.skip_dropout <= 1:
            raise InvalidOption(f"skip dropout must be a probability, got {self.skip_dropout}")
        if self.batch_size < 2:
            raise InvalidOption(f"batch size must be >= 2, got {self.batch_size}")
        if self.arch_every < 1:
            raise InvalidOption(f"arch_every must be >= 1, got {self.arch_every}")
        if self.cells < 3:
            raise InvalidOption(f"a DARTS network needs at least 3 cells, got {self.cells}")
        self.schedule()  # validates epochs, split and prune mode

    def schedule(self) -> PhaseSchedule:
        return PhaseSchedule(self.epochs, self.cells, tuple(self.split), self.prune)

    def recompute_cells(self) -> int:
        """Cells recomputed in backward: by default the full-resolution cells and the first
        reduction cell, which hold over a third of a step's activations for a small share of
        its compute (see benchmarks/oneshot_step.py)."""
        if self.checkpoint_cells is None:
            return self.cells // 3 + 1
        return int(self.checkpoint_cells)

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(
            tuple(self.crop_scale), self.flip, self.jitter, self.grayscale_p, self.blur_p
        )

    def macro(self, in_channels: int) -> MacroConfig:
        return MacroConfig(self.cells, self.channels, in_channels)

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with the checkpoint."""
        return {k: v for k, v in _jsonable(asdict(self)).items() if k not in RUNTIME_FIELDS}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchConfig:
        known = {f.name for f in fields(cls)}
        kwargs = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known
        }
        return cls(**kwargs)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values))


@dataclass
class SearchResult:
    genotypes: list[str]
    seconds: float
    network: str
    run_dir: str
    history: list[dict[str, Any]] = field(default_factory=list)
    darts_summary: str = ""  # one normal + reduce DARTS Genotype (most frequent cell of each)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1)[0])


def split_halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint halves of the training indices: weights train on one, alphas on the other."""
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    return perm[: n // 2].sort().values, perm[n // 2 :].sort().values


def build_objective(config: SearchConfig, data: ImageData, device: torch.device) -> nn.Module:
    normalize = Normalize(*data.stats(), channels_last=config.channels_last)
    augment = build_augment(data.size, data.channels, config.augment_config())
    if config.objective == "simclr":
        objective: nn.Module = SimCLRObjective(augment, normalize, config.temperature)
    else:
        objective = SupervisedObjective(augment, normalize)
    return objective.to(device)


class SearchState:
    """Supernet, optimisers and scheduler built in a fixed order (optimisers see all weights)."""

    def __init__(
        self, config: SearchConfig, data: ImageData, device: torch.device, ctx: DistContext
    ):
        torch.manual_seed(config.seed)
        supervised = config.objective == "supervised"
        self.model = Supernet(
            config.macro(data.channels),
            head="linear" if supervised else "projection",
            out_dim=data.num_classes if supervised else config.projection_dim,
            max_skip=config.max_skip,
            max_pool=config.max_pool,
            checkpoint_cells=config.recompute_cells(),
        )
        if config.sync_bn:
            self.model = convert_sync_batchnorm(self.model, ctx, device)
        self.model.to(device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.w_opt = torch.optim.SGD(
            self.model.weight_parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        self.a_opt = torch.optim.Adam(
            self.model.arch_parameters(),
            lr=config.arch_lr,
            betas=tuple(config.arch_betas),
            weight_decay=config.arch_weight_decay,
        )
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, T_max=config.epochs)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []

    def state_dict(self, config: SearchConfig) -> dict[str, Any]:
        return {
            "config": config.identity(),
            "epoch": self.epoch,
            "fixed": {i: g.to_text() for i, g in enumerate(self.model.fixed) if g is not None},
            "model": self.model.state_dict(),
            "w_opt": self.w_opt.state_dict(),
            "a_opt": self.a_opt.state_dict(),
            "sched": self.sched.state_dict(),
            "history": self.history,
        }

    def load(self, payload: dict[str, Any]) -> None:
        for index, text in payload["fixed"].items():
            self.model.fix_cell(int(index), genotypes_from_text(text)[0])
        self.model.load_state_dict(payload["model"])
        for index in payload["fixed"]:
            self.model.alphas[int(index)].requires_grad_(False)
        self.w_opt.load_state_dict(payload["w_opt"])
        self.a_opt.load_state_dict(payload["a_opt"])
        self.sched.load_state_dict(payload["sched"])
        self.epoch = int(payload["epoch"])
        self.history = list(payload["history"])


def _batches(
    indices: torch.Tensor, batch_size: int, limit: int | None, rng: np.random.Generator
) -> list[torch.Tensor]:
    order = indices[torch.from_numpy(rng.permutation(len(indices)))]
    if limit is not None:
        order = order[:limit]
    count = max(
        1, len(order) // batch_size
    )  # drop the ragged end: BN and InfoNCE like full batches
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(count)]


class Stepper:
    """One weight step and one architecture step, shared by the loop, DDP test and benchmark."""

    def __init__(
        self, state: SearchState, objective: nn.Module, config: SearchConfig, ctx: DistContext
    ):
        self.state, self.objective, self.config, self.ctx = state, objective, config, ctx
        self.scaler = torch.amp.GradScaler("cuda") if config.amp else None

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.scaler is not None:
            with torch.autocast("cuda", dtype=torch.float16):
                return self.objective(self.state.model, x, y)
        return self.objective(self.state.model, x, y)

    def weight_step(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, skip_dropout: float
    ) -> float:
        model, opt = self.state.model, self.state.w_opt
        model.train()
        model.sample(generator, arch_step=False, skip_dropout=skip_dropout)
        loss = self._loss(x, y)
        opt.zero_grad(set_to_none=True)
        params = model.weight_parameters()
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(opt)
        else:
            loss.backward()
        average_gradients(params, self.ctx)
        nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], self.config.grad_clip)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        return float(loss.detach())

    def arch_step(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> float:
        model, opt = self.state.model, self.state.a_opt
        weights = model.weight_parameters()
        for p in weights:  # alphas only: skip the weight-gradient kernels
            p.requires_grad_(False)
        try:
            model.train()
            model.sample(generator, arch_step=True)
            loss = self._loss(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            average_gradients(model.arch_parameters(), self.ctx)
            opt.step()
        finally:
            for p in weights:
                p.requires_grad_(True)
        return float(loss.detach())


def run_search(
    config: SearchConfig,
    out_dir: str | Path,
    resume: bool = True,
    data: ImageData | None = None,
    stop_after: int | None = None,
) -> SearchResult:
    """Search (or resume a search) into `out_dir`; `stop_after` epochs simulates an interruption."""
    from selfnas.progress import progress_bar
    from selfnas.runtime import configure_threads, select_device

    out = Path(out_dir)
    ctx = current()
    configure_threads(config.threads)
    device = select_device(config.device)
    data = data or load_dataset(config.dataset, config.data_root)
    objective = build_objective(config, data, device)
    state = SearchState(config, data, device, ctx)
    checkpoint = out / "checkpoint.pt"
    if resume and checkpoint.exists():
        payload = torch.load(checkpoint, map_location=device, weights_only=False)
        if payload["config"] != config.identity():
            diff = sorted(
                k for k in config.identity() if payload["config"].get(k) != config.identity()[k]
            )
            raise ResumeMismatch(
                f"{checkpoint} was made with different settings ({', '.join(diff)}); "
                "use a new --out or --no-resume"
            )
        state.load(payload)
    if ctx.is_main:
        write_json(out / "config.json", _jsonable(asdict(config)))

    schedule = config.schedule()
    weight_half, arch_half = split_halves(len(data.train_x), config.seed)
    stepper = Stepper(state, objective, config, ctx)
    model = state.model
    with progress_bar() as bar:
        task = bar.add_task("sswp search", total=config.epochs, info="")
        bar.update(task, completed=state.epoch)
        while state.epoch < config.epochs:
            epoch = state.epoch
            if stop_after is not None and epoch >= stop_after:
                break
            phase = schedule.phase(epoch)
            generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 0))
            torch.manual_seed(_epoch_seed(config.seed, epoch, 1 + ctx.rank))  # augmentations
            rng = np.random.default_rng(_epoch_seed(config.seed, epoch, 100))
            w_batches = _batches(weight_half, config.batch_size, config.images_per_epoch, rng)
            a_batches = _batches(arch_half, config.batch_size, None, rng)
            started = time.perf_counter()
            w_losses, a_losses, step_seconds = [], [], []
            for step, batch in enumerate(w_batches):
                for cell in schedule.due(epoch + step / len(w_batches)):
                    model.fix_cell(cell)
                idx = ctx.shard(batch)
                t0 = time.perf_counter()
                w_losses.append(
                    stepper.weight_step(
                        data.train_x[idx].to(device),
                        data.train_y[idx].to(device),
                        generator,
                        0.0 if phase == "warmup" else config.skip_dropout,
                    )
                )
                step_seconds.append(time.perf_counter() - t0)
                if (
                    phase != "warmup"
                    and (step + 1) % config.arch_every == 0
                    and model.trainable_arch_parameters()
                ):
                    a_idx = ctx.shard(a_batches[(step // config.arch_every) % len(a_batches)])
                    a_losses.append(
                        stepper.arch_step(
                            data.train_x[a_idx].to(device),
                            data.train_y[a_idx].to(device),
                            generator,
                        )
                    )
                bar.update(
                    task, info=f"{phase} step {step + 1}/{len(w_batches)} loss {w_losses[-1]:.3f}"
                )
            state.sched.step()
            state.epoch = epoch + 1
            state.history.append(
                {
                    "epoch": epoch,
                    "phase": phase,
                    "loss": float(np.mean(w_losses)),
                    "arch_loss": float(np.mean(a_losses)) if a_losses else None,
                    "seconds": time.perf_counter() - started,
                    "weight_step_seconds": float(np.median(step_seconds)),
                    "fixed_cells": [i for i, g in enumerate(model.fixed) if g is not None],
                }
            )
            if ctx.is_main:
                save_torch(checkpoint, state.state_dict(config))
            bar.update(task, completed=state.epoch)

    seconds = float(sum(row["seconds"] for row in state.history))
    if state.epoch < config.epochs:  # interrupted on purpose (stop_after)
        return SearchResult([], seconds, "", str(out), state.history)
    for cell in schedule.due(float(config.epochs)):
        model.fix_cell(cell)
    genotypes = model.fix_all()
    network = model.to_network(genotypes).cpu()
    network_path = out / "network.pt"
    result = SearchResult(
        genotypes=[g.to_text() for g in genotypes],
        seconds=seconds,
        network=str(network_path),
        run_dir=str(out),
        history=state.history,
        darts_summary=str(darts_summary(genotypes)),
    )
    if ctx.is_main:
        save_network(network, network_path)
        write_text(out / "genotypes.txt", genotypes_to_text(genotypes) + "\n")
        write_json(out / "result.json", result.to_json())
    return result
