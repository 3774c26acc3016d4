"""The SSWP-NAS search loop: warm-up, alternating weight/architecture steps, progressive prune.

Weights (SGD, cosine, clip 5) train on one half of the training images, alphas (Adam,
betas (0, 0.999)) on the other, one architecture step every `arch_every` weight steps after
warm-up. Every epoch ends with an atomic checkpoint; all randomness of an epoch (shuffles,
augmentations, sampled paths) is seeded from (seed, epoch), so a resumed run ends exactly
where the uninterrupted one would. The run directory receives `config.json`,
`checkpoint.pt`, `genotypes.txt`, `network.pt` (the concomitant weights) and `result.json`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from selfnas.atomic import save_torch, write_json, write_text
from selfnas.errors import ResumeMismatch
from selfnas.oneshot.augment import Normalize, build_augment
from selfnas.oneshot.config import SearchConfig
from selfnas.oneshot.data import ImageData, load_dataset
from selfnas.oneshot.derive import darts_summary
from selfnas.oneshot.distributed import (
    DistContext,
    average_gradients,
    convert_sync_batchnorm,
    current,
)
from selfnas.oneshot.network import save_network, to_channels_last
from selfnas.oneshot.objectives import BYOLObjective, SimCLRObjective, SupervisedObjective
from selfnas.oneshot.supernet import Supernet
from selfnas.spaces.darts_genotype import cells_from_text, cells_to_text

__all__ = [
    "SearchConfig",
    "SearchResult",
    "SearchState",
    "Stepper",
    "build_objective",
    "run_search",
    "split_halves",
    "steps_per_epoch",
]


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
    normalize = Normalize(*data.stats(), channels_last=config.runtime.channels_last)
    augment = build_augment(data.size, data.channels, config.augment)
    objective: nn.Module
    if config.loss.supervised:
        objective = SupervisedObjective(augment, normalize)
    elif config.loss.objective == "byol":
        objective = BYOLObjective(augment, normalize)
    else:
        objective = SimCLRObjective(augment, normalize, config.loss.temperature)
    return objective.to(device)


def steps_per_epoch(config: SearchConfig, train_images: int) -> int:
    """Weight steps per epoch (what `_batches` gives the weight half each epoch)."""
    half = train_images // 2
    limit = config.data.images_per_epoch
    images = half if limit is None else min(limit, half)
    return max(1, images // config.data.batch_size)


class SearchState:
    """Supernet, optimisers and scheduler built in a fixed order (optimisers see all weights).

    A stateful objective (`BYOLObjective`) is bound to the supernet
    here, after the seeded supernet init; its trainable weights join the weight optimiser
    and its state (predictor, EMA target, step count) the checkpoint.
    """

    def __init__(
        self,
        config: SearchConfig,
        data: ImageData,
        device: torch.device,
        ctx: DistContext,
        objective: nn.Module | None = None,
    ):
        torch.manual_seed(config.seed)
        net, loss, optim = config.supernet, config.loss, config.optim
        model = Supernet(
            net.macro(data.channels),
            head="linear" if loss.supervised else "projection",
            out_dim=data.num_classes if loss.supervised else loss.projection_dim,
            max_skip=net.max_skip,
            max_pool=net.max_pool,
            checkpoint_cells=net.recompute_cells(),
        )
        if config.runtime.sync_bn:
            model = convert_sync_batchnorm(model, ctx, device)
        model.to(device)
        if config.runtime.channels_last:
            to_channels_last(model)
        self.model = model
        self.objective = objective if isinstance(objective, BYOLObjective) else None
        self.extra_parameters: list[nn.Parameter] = []
        if self.objective is not None:
            total = config.schedule.epochs * steps_per_epoch(config, len(data.train_x))
            self.objective.bind(model, total)
            self.extra_parameters = list(self.objective.trainable_parameters())
        self.w_opt = torch.optim.SGD(
            self.weight_parameters(),
            lr=optim.lr,
            momentum=optim.momentum,
            weight_decay=optim.weight_decay,
        )
        self.a_opt = torch.optim.Adam(
            model.arch_parameters(),
            lr=optim.arch_lr,
            betas=optim.arch_betas,
            weight_decay=optim.arch_weight_decay,
        )
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.w_opt, T_max=config.schedule.epochs
        )
        self.epoch = 0
        self.history: list[dict[str, Any]] = []

    def weight_parameters(self) -> list[nn.Parameter]:
        """What the weight optimiser trains: the supernet's weights and the objective's."""
        return self.model.weight_parameters() + self.extra_parameters

    def state_dict(self, config: SearchConfig) -> dict[str, Any]:
        payload = {
            "config": config.identity(),
            "epoch": self.epoch,
            "fixed": {i: g.to_text() for i, g in enumerate(self.model.fixed) if g is not None},
            "model": self.model.state_dict(),
            "w_opt": self.w_opt.state_dict(),
            "a_opt": self.a_opt.state_dict(),
            "sched": self.sched.state_dict(),
            "history": self.history,
        }
        if self.objective is not None:
            payload["objective"] = self.objective.state_dict()
        return payload

    def load(self, payload: dict[str, Any]) -> None:
        for index, text in payload["fixed"].items():
            self.model.fix_cell(int(index), cells_from_text(text)[0])
        self.model.load_state_dict(payload["model"])
        for index in payload["fixed"]:
            self.model.alphas[int(index)].requires_grad_(False)
        if self.objective is not None:
            self.objective.sync(self.model)  # the target's cells fixed as the online's
            self.objective.load_state_dict(payload["objective"])
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
        self.scaler = torch.amp.GradScaler("cuda") if config.runtime.amp else None

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
        params = self.state.weight_parameters()
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(opt)
        else:
            loss.backward()
        average_gradients(params, self.ctx)
        nn.utils.clip_grad_norm_(
            [p for p in params if p.grad is not None], self.config.optim.grad_clip
        )
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        after_step = getattr(self.objective, "after_step", None)
        if after_step is not None:  # BYOL's EMA target update
            after_step(model)
        return float(loss.detach())

    def arch_step(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> float:
        model, opt = self.state.model, self.state.a_opt
        weights = self.state.weight_parameters()
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
    configure_threads(config.runtime.threads)
    device = select_device(config.runtime.device)
    data = data or load_dataset(config.data.dataset, config.data.data_root)
    objective = build_objective(config, data, device)
    state = SearchState(config, data, device, ctx, objective)
    checkpoint = out / "checkpoint.pt"
    if resume and checkpoint.exists():
        payload = torch.load(checkpoint, map_location=device, weights_only=False)
        identity = config.identity()
        if payload["config"] != identity:
            recorded = payload["config"]
            diff = sorted(k for k in {*identity, *recorded} if recorded.get(k) != identity.get(k))
            raise ResumeMismatch(
                f"{checkpoint} was made with different settings ({', '.join(diff)}); "
                "use a new --out or --no-resume"
            )
        state.load(payload)
    if ctx.is_main:
        write_json(out / "config.json", config.to_dict())

    schedule = config.phases()
    epochs, batch_size = config.schedule.epochs, config.data.batch_size
    arch_every = config.schedule.arch_every
    weight_half, arch_half = split_halves(len(data.train_x), config.seed)
    stepper = Stepper(state, objective, config, ctx)
    model = state.model
    with progress_bar() as bar:
        task = bar.add_task("sswp search", total=epochs, info="")
        bar.update(task, completed=state.epoch)
        while state.epoch < epochs:
            epoch = state.epoch
            if stop_after is not None and epoch >= stop_after:
                break
            phase = schedule.phase(epoch)
            generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 0))
            torch.manual_seed(_epoch_seed(config.seed, epoch, 1 + ctx.rank))  # augmentations
            rng = np.random.default_rng(_epoch_seed(config.seed, epoch, 100))
            w_batches = _batches(weight_half, batch_size, config.data.images_per_epoch, rng)
            a_batches = _batches(arch_half, batch_size, None, rng)
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
                        0.0 if phase == "warmup" else config.schedule.skip_dropout,
                    )
                )
                step_seconds.append(time.perf_counter() - t0)
                if (
                    phase != "warmup"
                    and (step + 1) % arch_every == 0
                    and model.trainable_arch_parameters()
                ):
                    a_idx = ctx.shard(a_batches[(step // arch_every) % len(a_batches)])
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
    if state.epoch < epochs:  # interrupted on purpose (stop_after)
        return SearchResult([], seconds, "", str(out), state.history)
    for cell in schedule.due(float(epochs)):
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
        write_text(out / "genotypes.txt", cells_to_text(genotypes) + "\n")
        write_json(out / "result.json", result.to_json())
    return result
