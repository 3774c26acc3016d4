"""Training one network to convergence under a `Recipe`, resumable epoch by epoch.

The images stay on the training device as uint8; each epoch draws one permutation and
each step gathers its batch and augments it there, so the per-step Python work is a few
tensor calls. Every random stream of epoch `e` (permutation, augmentation, dropout and
drop path) is seeded from `(seed, e)` alone, so an epoch replayed after an interruption
draws exactly what the uninterrupted run drew: resuming from `checkpoint.pt` ends with
bit-identical weights on CPU. The learning rate is a pure function of the step (no
scheduler state to drift), and a non-finite loss stops the run with `TrainingFailed`.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.atomic import save_torch
from selfnas.errors import InvalidOption, ResumeMismatch, TrainingFailed
from selfnas.nets import count_parameters
from selfnas.train.augment import BatchAugment, default_flip, default_padding
from selfnas.train.data import TrainData
from selfnas.train.recipes import Recipe

CHECKPOINT = "checkpoint.pt"
EVAL_BATCH = 512

NetworkSource = nn.Module | Callable[[], nn.Module]
EpochCallback = Callable[[dict[str, Any]], None]


@runtime_checkable
class DropPathNetwork(Protocol):
    """A network with drop path (DARTS): the loop ramps its probability every epoch."""

    drop_path_prob: float


@dataclass
class TrainResult:
    """Accuracies in %; `val_accuracy` is None when the recipe holds out no validation."""

    val_accuracy: float | None
    test_accuracy: float
    seconds: float  # wall time of the training epochs (all sessions), evaluation excluded
    params: int  # without auxiliary heads, as the benchmarks count
    epochs: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_at(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The learning rate of optimiser step `step` (0-based): linear warm-up, then cosine
    from `lr` to `min_lr` over the remaining steps (or epochs), or constant."""
    warm = recipe.warmup_epochs * steps_per_epoch
    if step < warm:
        return recipe.lr * (step + 1) / warm
    if recipe.schedule == "constant":
        return recipe.lr
    if recipe.schedule_unit == "epoch":
        span = recipe.epochs - recipe.warmup_epochs
        progress = (step // steps_per_epoch - recipe.warmup_epochs) / max(1, span)
    else:
        progress = (step - warm) / max(1, recipe.epochs * steps_per_epoch - warm)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return recipe.min_lr + (recipe.lr - recipe.min_lr) * cosine


def batch_count(images: int, batch_size: int) -> int:
    """Steps per epoch: every image once; a last batch of one image (which BatchNorm cannot
    normalise in training mode) is dropped."""
    full, rest = divmod(images, batch_size)
    if full == 0:
        return 1
    return full + 1 if rest > 1 else full


def make_optimizer(network: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    params = [p for p in network.parameters() if p.requires_grad]
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=recipe.lr,
            alpha=recipe.rms_decay,
            eps=recipe.rms_eps,
            weight_decay=recipe.weight_decay,
            momentum=recipe.momentum,
        )
    return torch.optim.SGD(
        params,
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )


def _stream_seed(seed: int, epoch: int, stream: int) -> int:
    """An independent 63-bit seed per (run seed, epoch, stream)."""
    state = np.random.SeedSequence([seed % 2**63, epoch, stream]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def _logits(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    return output[0] if isinstance(output, tuple) else output


@torch.inference_mode()
def accuracy(
    network: nn.Module,
    images: Tensor,
    labels: Tensor,
    augment: BatchAugment,
    device: torch.device,
    amp: bool = False,
) -> float:
    """Top-1 accuracy in % over `images` (uint8), in eval mode."""
    network.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    for start in range(0, len(images), EVAL_BATCH):
        x = augment.normalise(images[start : start + EVAL_BATCH].to(device, non_blocking=True))
        y = labels[start : start + EVAL_BATCH].to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = _logits(network(x))
        correct += (logits.argmax(1) == y).sum()
    return 100.0 * int(correct) / max(1, len(images))


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    if amp:
        return torch.autocast(device.type, dtype=torch.float16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _isolated_rng(device: torch.device) -> Iterator[None]:
    """Seed freely inside without changing the caller's global random streams."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        yield


def _build(network: NetworkSource, seed: int) -> nn.Module:
    if isinstance(network, nn.Module):
        return network
    torch.manual_seed(seed)  # the factory's initialisation is part of the run's seed
    return network()


def _identity(recipe: Recipe, seed: int, data: TrainData, network: nn.Module) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by this call (the network's printed
    structure stands for its architecture)."""
    return {
        "recipe": recipe.key(),
        "seed": seed,
        "data": data.name,
        "train_images": len(data.train_x),
        "network": hashlib.sha1(repr(network).encode()).hexdigest()[:16],
    }


def train(
    network: NetworkSource,
    data: TrainData,
    recipe: Recipe,
    device: str | torch.device = "auto",
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    progress: bool = False,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train `network` (a module, or a factory called under `seed`) on `data.train_*` per
    `recipe`, then score validation and test.

    With `checkpoint_dir`, `checkpoint.pt` is rewritten atomically after every epoch and a
    later call with the same directory, recipe, seed and data resumes from it (a finished
    checkpoint is only re-evaluated). `on_epoch` gets each epoch's history record after
    its checkpoint is safe."""
    from selfnas.runtime import select_device

    if data.val_fraction != recipe.val_fraction:
        raise InvalidOption(
            f"the data hold out {data.val_fraction:g} for validation but the recipe says "
            f"{recipe.val_fraction:g}; load it with load_train_data(..., recipe.val_fraction)"
        )
    device = device if isinstance(device, torch.device) else select_device(device)
    with _isolated_rng(device):
        return _Run(_build(network, seed), data, recipe, device, seed).fit(
            checkpoint_dir, progress, on_epoch
        )


class _Run:
    """One training run's state; `fit` drives it epoch by epoch."""

    def __init__(
        self,
        network: nn.Module,
        data: TrainData,
        recipe: Recipe,
        device: torch.device,
        seed: int,
    ) -> None:
        self.network = network.to(device)
        self.data, self.recipe, self.device, self.seed = data, recipe, device, seed
        self.params = count_parameters(network)
        self.amp = recipe.amp and device.type == "cuda"
        padding = recipe.crop_padding
        flip = recipe.flip
        self.augment = BatchAugment(
            *data.stats(),
            padding=default_padding(data.size) if padding is None else padding,
            flip=default_flip(data.name) if flip is None else flip,
            cutout=recipe.cutout,
            device=device,
        )
        self.train_x = data.train_x.to(device)
        self.train_y = data.train_y.to(device)
        self.steps = batch_count(len(self.train_x), recipe.batch_size)
        self.optimizer = make_optimizer(self.network, recipe)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp)
        self.history: list[dict[str, Any]] = []
        self.seconds = 0.0
        self.epoch = 0
        self.identity = _identity(recipe, seed, data, self.network)

    # --- checkpoints ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        save_torch(
            path,
            {
                "identity": self.identity,
                "recipe": self.recipe.to_dict(),
                "epoch": self.epoch,
                "model": self.network.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "history": self.history,
                "seconds": self.seconds,
            },
        )

    def load(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state.get("identity") != self.identity:
            raise ResumeMismatch(
                f"{path} was written by another training run ({state.get('identity')}, "
                f"this one is {self.identity}); delete it or use another directory"
            )
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = list(state["history"])
        self.seconds = float(state["seconds"])
        self.epoch = int(state["epoch"])

    # --- training ---------------------------------------------------------------------
    def fit(
        self, checkpoint_dir: str | Path | None, progress: bool, on_epoch: EpochCallback | None
    ) -> TrainResult:
        from selfnas import tracking
        from selfnas.progress import progress_bar

        path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
        if path is not None and path.exists():
            self.load(path)
        epochs = self.recipe.epochs
        with progress_bar() as bar:
            task = bar.add_task("train", total=epochs, completed=self.epoch, info="")
            if not progress:
                bar.update(task, visible=False)
            while self.epoch < epochs:
                record = self.train_epoch()
                self.history.append(record)
                self.seconds += record["seconds"]
                self.epoch += 1
                if path is not None:
                    self.save(path)
                tracking.log("train", self.epoch, record)
                bar.update(task, advance=1, info=f"loss {record['train_loss']:.3f}")
                if on_epoch is not None:
                    on_epoch(record)
        return self.result()

    def train_epoch(self) -> dict[str, Any]:
        recipe, device, net = self.recipe, self.device, self.network
        epoch = self.epoch
        started = time.perf_counter()
        torch.manual_seed(_stream_seed(self.seed, epoch, 0))  # dropout, drop path
        order = torch.Generator().manual_seed(_stream_seed(self.seed, epoch, 1))
        augment_rng = torch.Generator(device=device).manual_seed(_stream_seed(self.seed, epoch, 2))
        if isinstance(net, DropPathNetwork):
            net.drop_path_prob = recipe.drop_path * epoch / recipe.epochs
        batches = (
            torch.randperm(len(self.train_x), generator=order)
            .to(device)
            .split(recipe.batch_size)[: self.steps]
        )
        losses = torch.zeros(self.steps, device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        lr = recipe.lr
        net.train()
        for step, index in enumerate(batches):
            lr = lr_at(recipe, epoch * self.steps + step, self.steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            x = self.augment(self.train_x[index], augment_rng)
            y = self.train_y[index]
            with _autocast(device, self.amp):
                logits, loss = self._loss(net(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if recipe.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(net.parameters(), recipe.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            losses[step] = loss.detach()
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(index)
        losses_cpu = losses.cpu()  # the epoch's one host sync
        self._check_finite(losses_cpu, epoch)
        return {
            "epoch": epoch + 1,
            "train_loss": float(losses_cpu.mean()),
            "train_accuracy": 100.0 * int(correct) / max(1, seen),
            "lr": lr,
            "seconds": time.perf_counter() - started,
        }

    def _loss(self, output: Tensor | tuple[Tensor, ...], y: Tensor) -> tuple[Tensor, Tensor]:
        smoothing = self.recipe.label_smoothing
        logits = _logits(output)
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        weight = self.recipe.auxiliary_weight
        if weight > 0 and isinstance(output, tuple) and len(output) > 1:
            loss = loss + weight * F.cross_entropy(output[1], y, label_smoothing=smoothing)
        return logits, loss

    @staticmethod
    def _check_finite(losses: Tensor, epoch: int) -> None:
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            step = int(bad[0, 0])
            kind = "nan" if math.isnan(float(losses[step])) else "inf"
            raise TrainingFailed(f"loss became {kind} at epoch {epoch + 1} step {step + 1}")

    def result(self) -> TrainResult:
        data = self.data
        args = (self.augment, self.device, self.amp)
        val = accuracy(self.network, data.val_x, data.val_y, *args) if len(data.val_x) else None
        return TrainResult(
            val_accuracy=val,
            test_accuracy=accuracy(self.network, data.test_x, data.test_y, *args),
            seconds=self.seconds,
            params=self.params,
            epochs=self.epoch,
            history=self.history,
        )


__all__ = ["CHECKPOINT", "TrainResult", "accuracy", "batch_count", "lr_at", "train"]
