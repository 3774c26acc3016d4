"""Data parallelism with `torch.distributed` (launched by `torchrun`).

Every rank builds the same supernet from the same seed and draws the same path each step
(the path generator is seeded identically on all ranks), so the set of parameters that
receive gradients is identical everywhere and a plain all-reduce of `.grad` (weights and
alphas) suffices; DDP's module wrapper would need `find_unused_parameters` for a path that
changes every step. Each global batch is split across ranks DistributedSampler-style
(rank r takes positions r, r + W, ...), so one step on W ranks sees the combined batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

import torch
import torch.distributed as dist
from torch import nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, indices: torch.Tensor) -> torch.Tensor:
        """This rank's part of a global batch (strided, as DistributedSampler assigns)."""
        return indices[self.rank :: self.world] if self.enabled else indices


def current() -> DistContext:
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size())
    return DistContext()


def init_from_env(backend: str | None = None) -> DistContext:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR/PORT)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        from selfnas.errors import InvalidOption

        raise InvalidOption("--distributed needs torchrun (RANK and WORLD_SIZE are not set)")
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
    return current()


def local_device(requested: str) -> str:
    """Under torchrun on CUDA, each rank uses its LOCAL_RANK GPU."""
    if requested in ("auto", "cuda") and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return requested


def average_gradients(parameters: Iterable[nn.Parameter], context: DistContext) -> None:
    """All-reduce and average the gradients present (same set on every rank)."""
    if not context.enabled:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= context.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics span all ranks, on any device.

    torch's SyncBatchNorm refuses CPU tensors; this one all-reduces per-channel sums with
    the autograd-aware collective, so gloo runs match one process on the combined batch.
    A subclass of BatchNorm2d: state-dict keys are unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = current()
        if not self.training or not ctx.enabled:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c = x.shape[1]
        count = x.new_tensor([x.numel() / c])
        stats = all_reduce(torch.cat([x.sum((0, 2, 3)), (x * x).sum((0, 2, 3)), count]))
        total = stats[-1]
        mean = stats[:c] / total
        var = (stats[c : 2 * c] / total - mean * mean).clamp_min(0)
        if (
            self.track_running_stats
            and self.running_mean is not None
            and self.running_var is not None
            and self.num_batches_tracked is not None
        ):
            with torch.no_grad():
                m = 0.1 if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * total / (total - 1))
                self.num_batches_tracked += 1
        y = (x - mean.view(1, -1, 1, 1)) * torch.rsqrt(var.view(1, -1, 1, 1) + self.eps)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y


def convert_sync_batchnorm(
    model: ModuleT, context: DistContext, device: torch.device | str = "cpu"
) -> ModuleT:
    """SyncBatchNorm option: batch statistics over the combined batch of all ranks
    (torch's SyncBatchNorm on CUDA, `GlobalBatchNorm2d` elsewhere). The model is converted
    in place (only a bare BatchNorm would be replaced, and a model is never one)."""
    if not context.enabled:
        return model
    if torch.device(device).type == "cuda":
        return cast(ModuleT, nn.SyncBatchNorm.convert_sync_batchnorm(model))
    _to_global(model)
    return model


def _to_global(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        if type(child) is nn.BatchNorm2d:
            replacement = GlobalBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            replacement.load_state_dict(child.state_dict())
            setattr(module, name, replacement)
        else:
            _to_global(child)
