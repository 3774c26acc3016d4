"""Can a larger batch, a learning-rate schedule or bfloat16 buy arch2vec's NB101 time to
quality? Held-out reconstruction per epoch and samples/s of our loop under each setting,
beside the plain loop's seconds per epoch measured in the same run.

Why: the throughput target asks ours to reach the published quality in a third of the plain
loop's time. Ours matches the plain loop's speed at batch 32 on a quiet machine, so any gain
must come from more samples per second (larger batches; bfloat16 matmuls, which this CPU runs
on AMX) without needing proportionally more epochs. This measures both halves.

Each `--setting` is `BATCH:LR:SCHEDULE:PRECISION:EPOCHS`; SCHEDULE is `constant` (Adam at LR
throughout, as published) or `cosine` (linear warm-up over 5 % of the steps, then cosine to
zero at the last epoch); PRECISION is `fp32` or `bf16` (autocast around the loss). The
budget line says how many seconds of training ours may take to be at a third of the plain
loop, from the epochs a batch-32 `selfnas pretrain` run needed (`--batch32-metrics`).

    PYTHONPATH=benchmarks python benchmarks/archive/pretrain_batch_probe.py \
        --setting 512:4e-3:constant:fp32:3 \
        --setting 512:4e-3:constant:bf16:3 --setting 512:6e-3:cosine:bf16:5 \
        --setting 128:3e-3:cosine:fp32:2 --batch32-metrics runs/a2v-nb101-full/metrics.json \
        --out benchmarks/results/archive/pretrain_batch_probe.json
"""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import Any

import numpy as np
import torch

from _report import emit, machine
from pretrain_throughput import (
    MODEL_OPTIONS,
    epochs_to_quality,
    equal_batch_timing,
    model,
    quality_targets,
    space_split,
)
from selfnas.pretrain.metrics import reconstruction_accuracy
from selfnas.pretrain.registry import resolve_options
from selfnas.spaces.batch import ArchBatch

SCHEDULES = ("constant", "cosine")
PRECISIONS = ("fp32", "bf16")


def parse_setting(text: str) -> dict[str, Any]:
    """`BATCH:LR:SCHEDULE:PRECISION:EPOCHS` -> a dict, with a clear error for bad input."""
    usage = (
        f"{text!r}: expected BATCH:LR:SCHEDULE:PRECISION:EPOCHS with SCHEDULE one of "
        f"{', '.join(SCHEDULES)} and PRECISION one of {', '.join(PRECISIONS)}"
    )
    parts = text.split(":")
    if len(parts) != 5 or parts[2] not in SCHEDULES or parts[3] not in PRECISIONS:
        raise argparse.ArgumentTypeError(usage)
    try:
        batch, lr, epochs = int(parts[0]), float(parts[1]), int(parts[4])
    except ValueError:
        raise argparse.ArgumentTypeError(usage) from None
    if batch < 1 or lr <= 0 or epochs < 1:
        raise argparse.ArgumentTypeError(usage)
    return {
        "batch_size": batch,
        "lr": lr,
        "schedule": parts[2],
        "precision": parts[3],
        "epochs": epochs,
    }


def lr_factor(schedule: str, total_steps: int):
    """Multiplier of the base learning rate at each step."""
    warm = max(1, round(0.05 * total_steps))

    def factor(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))

    return factor


def probe(space: Any, train: ArchBatch, held: ArchBatch, setting: dict, seed: int) -> dict:
    """Train ours under `setting` (same seed and batch order as the throughput benchmark),
    checking held-out reconstruction after every epoch with the training clock stopped."""
    torch.manual_seed(seed)
    obj = model(space, batch_size=setting["batch_size"], lr=setting["lr"])
    opt, _ = obj.configure_optimizer(0)
    steps = -(-len(train) // setting["batch_size"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_factor(setting["schedule"], steps * setting["epochs"])
    )
    params = list(obj.parameters())
    bf16 = setting["precision"] == "bf16"
    train_seconds, history = 0.0, []
    for epoch in range(setting["epochs"]):
        order = torch.as_tensor(np.random.default_rng([seed, epoch]).permutation(len(train)))
        obj.train()
        began = time.perf_counter()
        for chunk in order.split(setting["batch_size"]):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, _ = obj.loss((train[chunk], None))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0, foreach=True)
            opt.step()
            sched.step()
        train_seconds += time.perf_counter() - began
        rec = reconstruction_accuracy(obj, held)
        history.append({"epoch": epoch + 1, "train_seconds": train_seconds} | rec)
        print(f"[{setting}] {history[-1]}", flush=True)
    return setting | {
        "samples_per_second": len(train) * setting["epochs"] / train_seconds,
        "history": history,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--space", default="nb101")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--setting", action="append", required=True, type=parse_setting)
    p.add_argument("--batch32-metrics", default="runs/a2v-nb101-full/metrics.json")
    p.add_argument("--timing-steps", type=int, default=200)
    p.add_argument("--timing-repeats", type=int, default=3)
    p.add_argument(
        "--targets-without", action="append", default=["uniqueness"], help="as the benchmark"
    )
    p.add_argument(
        "--kl-weight", type=float, default=None, help="every setting's (default: the space's)"
    )
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.kl_weight is not None:
        MODEL_OPTIONS["kl_weight"] = args.kl_weight
    torch.set_num_threads(1)
    load_start = os.getloadavg()
    space, _, train, held = space_split(args.space, args.seed)
    timing = equal_batch_timing(space, train, 32, args.timing_steps, args.timing_repeats, args.seed)
    targets = quality_targets(space.name, args.targets_without)
    b32 = epochs_to_quality(args.batch32_metrics, targets)
    plain_seconds = None
    if b32["epochs_to_quality"] is not None:
        plain_seconds = b32["epochs_to_quality"] * timing["plain_seconds_per_epoch"]
    settings = [probe(space, train, held, s, args.seed) for s in args.setting]
    emit(
        {
            "space": space.name,
            "model_options": resolve_options("arch2vec", space.name, MODEL_OPTIONS),
            "targets": targets,
            "plain_seconds_per_epoch": timing["plain_seconds_per_epoch"],
            "plain_samples_per_second": timing["plain_samples_per_second"],
            "batch32_run": {k: b32[k] for k in ("run", "epochs_to_quality", "history")},
            "plain_time_to_quality_seconds": plain_seconds,
            "budget_seconds_for_one_third": None if plain_seconds is None else plain_seconds / 3,
            "settings": settings,
            "machine": machine(load_start),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
