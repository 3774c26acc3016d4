"""Training throughput of `selfnas.train.loop.train` vs a plain PyTorch loop, and the
per-trial cost of running trials as Ray tasks instead of in this process.

    .venv/bin/python benchmarks/train_throughput.py [--dataset digits|mnist5k] [--quick]

1. Throughput: the default NB201 network (16 channels, 5 cells per stage) trained with the
   NB201 recipe, once by our loop and once by the loop a user writes by hand: a
   `DataLoader(TensorDataset(...), shuffle=True)` over the same training images as
   normalised floats, the same random crop (black padding) and flip setting done with
   tensor ops in the loop body, SGD with Nesterov momentum, the same per-step cosine
   (`CosineAnnealingLR`), batch size and epochs, cross-entropy. Each network is built fresh
   under the same seed. Only the training epochs are timed (ours: `TrainResult.seconds`).
   At `--threads` (default 1) torch threads, the two alternate `--repeats` times after one
   untimed warm-up epoch of each; reported are the median images/s of each, their ratio
   (target >= 1.0), the same per CPU second (steadier when others share the cores) and
   both test accuracies.
2. Ray overhead: `--trials` identical small trainings (NB201 at 4 channels, 1 cell per
   stage, 1 epoch on digits, batch 32) through `InProcessBackend`, then through
   `RayBackend` on a local instance (its start time reported apart), first all submitted
   at once (2 run concurrently on 2 CPUs; the workers start cold), then one at a time,
   then all at once again on the warm workers. Per-trial overhead =
   (Ray wall - in-process wall) / trials; the serial one is the true cost of a trial
   (target < 2 s). Every pass uses a fresh temporary trial store, so nothing is cached.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from _report import emit, machine
from selfnas.nets import build_network
from selfnas.spaces import get_space
from selfnas.train.augment import default_flip, default_padding
from selfnas.train.data import TrainData, load_train_data
from selfnas.train.loop import train
from selfnas.train.recipes import Recipe, recipe_for

ARCH = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
SEED = 0
#: epochs per timed run, chosen so one run takes a few seconds here
EPOCHS = {"digits": 15, "mnist5k": 1}


def plain_train(factory: Any, data: TrainData, recipe: Recipe, seed: int) -> dict[str, Any]:
    """What a user writes by hand: DataLoader, augmentation in the loop body, SGD, cosine."""
    torch.manual_seed(seed)
    net = factory()
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in data.stats())
    x_all = (data.train_x.float() / 255.0 - mean) / std
    loader = DataLoader(
        TensorDataset(x_all, data.train_y),
        batch_size=recipe.batch_size,
        shuffle=True,
        drop_last=len(x_all) % recipe.batch_size == 1,  # BatchNorm cannot take 1 image
    )
    pad = default_padding(data.size)
    flip = default_flip(data.name)
    black = -mean / std  # what zero padding before normalisation becomes after it
    opt = torch.optim.SGD(
        net.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs * len(loader))
    seen = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(recipe.epochs):
        net.train()
        for x, y in loader:
            n, c, h, w = x.shape
            padded = black.expand(n, c, h + 2 * pad, w + 2 * pad).clone()
            padded[:, :, pad : pad + h, pad : pad + w] = x
            dy, dx = torch.randint(0, 2 * pad + 1, (2, n, 1))
            rows = (dy + torch.arange(h))[:, None, :, None]
            cols = (dx + torch.arange(w))[:, None, None, :]
            x = padded[
                torch.arange(n)[:, None, None, None],
                torch.arange(c)[None, :, None, None],
                rows,
                cols,
            ]
            if flip:
                mirror = torch.rand(n) < 0.5
                x = torch.where(mirror[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += n
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    net.eval()
    with torch.inference_mode():
        test_x = (data.test_x.float() / 255.0 - mean) / std
        correct = sum(
            int((net(test_x[i : i + 512]).argmax(1) == data.test_y[i : i + 512]).sum())
            for i in range(0, len(test_x), 512)
        )
    accuracy = 100.0 * correct / len(test_x)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "images": seen,
        "test_accuracy": accuracy,
    }


def ours_train(factory: Any, data: TrainData, recipe: Recipe, seed: int) -> dict[str, Any]:
    cpu: list[float] = []

    def timed_factory() -> torch.nn.Module:
        network = factory()
        cpu.append(time.process_time())  # after the build; setup and epochs follow
        return network

    def on_epoch(record: dict[str, Any]) -> None:
        cpu.append(time.process_time())

    result = train(timed_factory, data, recipe, device="cpu", seed=seed, on_epoch=on_epoch)
    full, rest = divmod(len(data.train_x), recipe.batch_size)
    per_epoch = len(data.train_x) - (1 if full and rest == 1 else 0)
    return {
        "seconds": result.seconds,
        "cpu_seconds": cpu[-1] - cpu[0],
        "images": per_epoch * recipe.epochs,
        "test_accuracy": result.test_accuracy,
    }


def throughput(dataset: str, epochs: int, repeats: int) -> dict[str, Any]:
    recipe = recipe_for("nb201", epochs=epochs)
    data = load_train_data(dataset, recipe.val_fraction)
    arch = get_space("nb201").parse(ARCH)

    def factory() -> torch.nn.Module:
        return build_network("nb201", arch, data.shape)

    warm = recipe.replace(epochs=1)
    ours_train(factory, data, warm, SEED)  # oneDNN primitives, allocator, imports
    plain_train(factory, data, warm, SEED)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "plain": []}
    for _ in range(repeats):
        runs["ours"].append(ours_train(factory, data, recipe, SEED))
        runs["plain"].append(plain_train(factory, data, recipe, SEED))
    out: dict[str, Any] = {
        "dataset": dataset,
        "network": {"space": "nb201", "arch": ARCH, "channels": 16, "cells": 5},
        "params": sum(p.numel() for p in factory().parameters()),
        "epochs": epochs,
        "batch_size": recipe.batch_size,
        "train_images": len(data.train_x),
        "steps_per_epoch": math.ceil(len(data.train_x) / recipe.batch_size),
        "augment": {"crop_padding": default_padding(data.size), "flip": default_flip(dataset)},
        "repeats": repeats,
    }
    for name, rows in runs.items():
        rates = [r["images"] / r["seconds"] for r in rows]
        cpu_rates = [r["images"] / r["cpu_seconds"] for r in rows]
        out[name] = {
            "images_per_s": statistics.median(rates),
            "images_per_s_all": rates,
            "images_per_cpu_s": statistics.median(cpu_rates),
            "images_per_cpu_s_all": cpu_rates,
            "images_per_epoch": rows[0]["images"] // epochs,
            "test_accuracy": [r["test_accuracy"] for r in rows],
        }
    out["ratio_ours_vs_plain"] = out["ours"]["images_per_s"] / out["plain"]["images_per_s"]
    out["ratio_per_cpu_s"] = out["ours"]["images_per_cpu_s"] / out["plain"]["images_per_cpu_s"]
    out["target"] = "ratio_ours_vs_plain >= 1.0"
    out["note"] = (
        "images/s is wall time of the training epochs; images per CPU second (this "
        "process's CPU time over the same span) is less disturbed by other processes on the "
        "shared cores"
    )
    return out


# --- Ray overhead ------------------------------------------------------------------------
def _pass(evaluator: Any, backend: Any, archs: list[Any], serial: bool) -> dict[str, Any]:
    from selfnas.trials.pool import TrialPool
    from selfnas.trials.store import TrialStore

    keys = [f"trial-{i}" for i in range(len(archs))]
    with tempfile.TemporaryDirectory(prefix="selfnas-bench-") as tmp:
        pool = TrialPool(evaluator, TrialStore(tmp), backend, max_attempts=1)
        walls: list[float] = []
        trials: dict[str, Any] = {}
        started = time.perf_counter()
        if serial:
            for arch, key in zip(archs, keys, strict=True):
                t = time.perf_counter()
                trials |= pool.evaluate([arch], [key])
                walls.append(time.perf_counter() - t)
        else:
            trials = pool.evaluate(archs, keys)
        wall = time.perf_counter() - started
    failed = [t.reasons for t in trials.values() if t.status != "done"]
    if failed:
        raise RuntimeError(f"trials failed: {failed}")
    out = {
        "wall_s": wall,
        "trial_seconds_median": statistics.median(t.seconds for t in trials.values()),
    }
    if serial:
        out["per_trial_wall_s"] = walls
    return out


def ray_overhead(trials: int, cpus: int) -> dict[str, Any]:
    import ray

    from selfnas.trials.backends import InProcessBackend, RayBackend, connect_ray
    from selfnas.trials.evaluators import TrainingEvaluator

    recipe = recipe_for("nb201", epochs=1, batch_size=32)
    evaluator = TrainingEvaluator("nb201", "digits", recipe, device="cpu", channels=4, cells=1)
    arch = get_space("nb201").parse(ARCH)
    archs = [arch] * trials  # identical work per trial; distinct keys, fresh stores
    _pass(evaluator, InProcessBackend(evaluator), [arch], serial=True)  # warm-up: data, oneDNN
    inproc = _pass(evaluator, InProcessBackend(evaluator), archs, serial=True)
    started = time.perf_counter()
    connect_ray(None, num_cpus=cpus)
    start_s = time.perf_counter() - started
    try:
        backend = RayBackend(evaluator, cpus_per_trial=1)
        concurrent = _pass(evaluator, backend, archs, serial=False)  # workers start cold
        serial = _pass(evaluator, backend, archs, serial=True)
        warm = _pass(evaluator, backend, archs, serial=False)
    finally:
        ray.shutdown()
    base = inproc["wall_s"]
    per_inproc = statistics.median(inproc["per_trial_wall_s"])
    return {
        "trial": {
            "space": "nb201",
            "arch": ARCH,
            "channels": 4,
            "cells": 1,
            "dataset": "digits",
            "epochs": 1,
            "batch_size": 32,
        },
        "trials": trials,
        "ray_cpus": cpus,
        "cpus_per_trial": 1,
        "ray_start_s": start_s,
        "inprocess": inproc,
        "ray_concurrent": concurrent,
        "ray_serial": serial,
        "ray_concurrent_warm": warm,
        "worker_cold_start_s": concurrent["wall_s"] - warm["wall_s"],
        "overhead_per_trial_s": {
            "concurrent": (concurrent["wall_s"] - base) / trials,
            "concurrent_warm": (warm["wall_s"] - base) / trials,
            "serial": (serial["wall_s"] - base) / trials,
            "serial_median": statistics.median(serial["per_trial_wall_s"]) - per_inproc,
            "serial_first_trial": serial["per_trial_wall_s"][0] - per_inproc,
        },
        "note": "passes in this order on one Ray instance: concurrent (all submitted at "
        "once, 2 run at a time, the workers start and import torch during it), serial (one "
        "submitted after the last finished, warm workers), concurrent_warm (as the first, "
        "warm workers); worker_cold_start_s = concurrent - concurrent_warm wall",
        "target": "serial < 2 s per trial",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", choices=sorted(EPOCHS))
    parser.add_argument(
        "--epochs", type=int, default=None, help="per timed run (default: by dataset)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 2 trials")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--out", default=None, help="default: results/train_throughput.json")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.trials = 1, 2
        args.epochs = args.epochs or 2
    if args.out is None:
        name = "train_throughput" + ("" if args.dataset == "digits" else f"_{args.dataset}")
        args.out = str(Path(__file__).resolve().parent / "results" / f"{name}.json")
        if args.quick:
            args.out = None  # a smoke run does not replace the committed result
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    epochs = args.epochs or EPOCHS[args.dataset]
    result: dict[str, Any] = {"quick": args.quick, "threads": args.threads}
    result["throughput"] = throughput(args.dataset, epochs, args.repeats)
    if not args.skip_ray:
        result["ray"] = ray_overhead(args.trials, args.ray_cpus)
    result["machine"] = machine(load_start)
    emit(result, args.out)


if __name__ == "__main__":
    main()
