"""Zero-cost scoring throughput: every data-free proxy (params, flops, synflow, zen,
l2_norm) for all 15,625 NB201 cells (CIFAR-10 networks, batch 64, seed 0), by
`selfnas.zc.scoring.score_archs` vs a plain per-arch loop. Target: <= 600 s on 2 cores.

    .venv/bin/python benchmarks/zc_throughput.py [--sample 100] [--workers 2] [--quick]

1. Plain loop, measured on a seeded sample of `--sample` cells, one process, one thread:
   per arch and proxy, seed, build the network fresh, call the proxy (what
   `score_plain` defines), each stage timed; the total is extrapolated to 15,625 cells
   (said in the JSON as `extrapolated`).
2. Ours on the same sample with `--workers` processes: the same numbers (checked exactly),
   seconds extrapolated to 15,625 the same way, and the ratio to the plain loop.
3. Ours on all 15,625 cells, measured, for the proxies that fit the time of one run
   (params, flops, l2_norm): the full-space pass is real, not extrapolated.
4. The floor: zen needs two forward passes of 64 images through each network in training
   mode, whatever the implementation. Those two passes alone are timed (CPU seconds) on a
   sub-sample, turned into seconds per FLOP and applied to the exact FLOPs of all 15,625
   networks (from step 3), divided by the workers: no exact scorer of zen beats that here.

Wall seconds on this shared machine include the neighbours' load, so each step also
reports CPU seconds (its process and its finished workers) and `*_free_cores`: the
full-space time with the cores to ourselves, CPU seconds / workers.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _report import emit, machine
from selfnas.runtime import seed_everything
from selfnas.spaces import get_space
from selfnas.zc import DATA_FREE, PROXIES, noise_batch
from selfnas.zc.scoring import network_shape, score_archs

SEED = 0
BATCH = 64
TARGET_SECONDS = 600.0
CHEAP = ("params", "flops", "l2_norm")


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the pool's workers): on a
    shared machine they count the work, where wall time also counts the neighbours."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def plain_loop(archs: list, names: list[str]) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The per-arch loop with each stage timed: scores and seconds per stage."""
    from selfnas.nets import build_network

    shape = network_shape(None)
    batch = noise_batch(shape, BATCH, SEED)
    scores: dict[str, list[float]] = {name: [] for name in names}
    seconds = {"build": 0.0, **dict.fromkeys(names, 0.0)}
    for arch in archs:
        for name in names:
            start = time.perf_counter()
            seed_everything(SEED)
            network = build_network("nb201", arch, shape)
            built = time.perf_counter()
            scores[name].append(float(PROXIES[name].fn(network, batch)))
            seconds["build"] += built - start
            seconds[name] += time.perf_counter() - built
    return scores, seconds


def forward_floor(archs: list) -> dict[str, Any]:
    """Seconds of zen's two batch-64 training-mode forward passes alone, per arch, with
    each network's FLOPs (one image) to turn them into a rate."""
    from selfnas.nets import build_network
    from selfnas.nets.flops import count_flops

    shape = network_shape(None)
    x = torch.randn(BATCH, shape.channels, shape.size, shape.size)
    times, cpu, flops = [], [], []
    for arch in archs:
        seed_everything(SEED)
        network = build_network("nb201", arch, shape).train()
        flops.append(count_flops(network, shape))
        with torch.no_grad():
            start, start_cpu = time.perf_counter(), time.process_time()
            network(x)
            network(x)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return {"seconds": times, "cpu_seconds": cpu, "flops": flops}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=100, help="cells for steps 1 and 2")
    parser.add_argument("--floor-sample", type=int, default=40, help="cells for step 4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: a few cells")
    parser.add_argument("--out", default=None, help="default: results/zc_throughput.json")
    args = parser.parse_args()
    full = 15625
    if args.quick:
        args.sample, args.floor_sample, full = 4, 2, 40
    if args.out is None and not args.quick:  # a smoke run does not replace the result
        args.out = str(Path(__file__).resolve().parent / "results" / "zc_throughput.json")
    torch.set_num_threads(1)
    load_start = os.getloadavg()
    everything = get_space("nb201").enumerate()
    total = len(everything)
    rng = np.random.default_rng(SEED)
    sample = [everything[int(i)] for i in np.sort(rng.choice(total, args.sample, False))]
    names = list(DATA_FREE)
    scale = total / len(sample)

    # 1. the plain loop on the sample
    start, start_cpu = time.perf_counter(), cpu_seconds()
    plain_scores, stages = plain_loop(sample, names)
    plain_seconds = time.perf_counter() - start
    plain_cpu = cpu_seconds() - start_cpu

    # 2. ours on the same sample
    start_cpu = cpu_seconds()
    ours = score_archs(
        "nb201", sample, names, seed=SEED, batch_size=BATCH, device="cpu",
        progress=False, workers=args.workers,
    )  # fmt: skip
    ours_seconds = ours.attrs["seconds"]
    ours_cpu = cpu_seconds() - start_cpu
    same = all(ours[name].tolist() == plain_scores[name] for name in names)

    # 3. ours on the whole space for the cheap proxies
    start_cpu = cpu_seconds()
    cheap = score_archs(
        "nb201", everything[:full], list(CHEAP), seed=SEED, batch_size=BATCH, device="cpu",
        progress=False, workers=args.workers,
    )  # fmt: skip
    cheap_seconds = cheap.attrs["seconds"]
    cheap_cpu = cpu_seconds() - start_cpu

    # 4. the floor: zen's forward passes, FLOP-weighted over the whole space
    floor = forward_floor(sample[: args.floor_sample])
    per_flop = sum(floor["cpu_seconds"]) / sum(floor["flops"])
    floor_full = per_flop * float(cheap["flops"].sum()) * (total / full) / args.workers

    plain_full = plain_seconds * scale
    ours_full = ours_seconds * scale
    # what the run would take with the cores to ourselves: CPU seconds over the workers
    plain_free = plain_cpu * scale
    ours_free = ours_cpu * scale / args.workers
    result: dict[str, Any] = {
        "what": "all data-free proxies for all 15,625 NB201 cells, CIFAR-10 networks, "
        f"batch {BATCH}, seed {SEED}",
        "quick": args.quick,
        "proxies": names,
        "cells": total,
        "sample": len(sample),
        "extrapolated": f"steps 1-2 timed on {len(sample)} seeded cells, scaled by "
        f"{scale:.2f} to {total}",
        "plain_loop": {
            "workers": 1,
            "sample_seconds": plain_seconds,
            "sample_cpu_seconds": plain_cpu,
            "estimated_full_seconds": plain_full,
            "estimated_full_seconds_free_cores": plain_free,
            "archs_per_second": len(sample) / plain_seconds,
            "ms_per_arch_by_stage": {k: 1e3 * v / len(sample) for k, v in stages.items()},
        },
        "ours": {
            "workers": args.workers,
            "sample_seconds": ours_seconds,
            "sample_cpu_seconds": ours_cpu,
            "estimated_full_seconds": ours_full,
            "estimated_full_seconds_free_cores": ours_free,
            "archs_per_second": len(sample) / ours_seconds,
            "same_numbers_as_plain": same,
        },
        "speedup": plain_full / ours_full,
        "speedup_free_cores": plain_free / ours_free,
        "ours_cheap_proxies_measured": {
            "proxies": list(CHEAP),
            "cells": full,
            "seconds": cheap_seconds,
            "cpu_seconds": cheap_cpu,
            "archs_per_second": full / cheap_seconds,
        },
        "zen_forward_floor": {
            "what": "two training-mode forward passes of 64 images per network (zen's "
            f"unavoidable work), timed on {len(floor['seconds'])} cells, applied per FLOP "
            f"to all {total} networks' FLOPs, divided by {args.workers} workers",
            "ms_per_arch_sample": 1e3 * float(np.mean(floor["seconds"])),
            "cpu_ms_per_arch_sample": 1e3 * float(np.mean(floor["cpu_seconds"])),
            "gflop_per_cpu_second": 2
            * BATCH
            * sum(floor["flops"])
            / sum(floor["cpu_seconds"])
            / 1e9,
            "estimated_full_seconds": floor_full,
        },
        "target_seconds": TARGET_SECONDS,
        "target_met": ours_full <= TARGET_SECONDS,
        "target_met_free_cores": ours_free <= TARGET_SECONDS,
        "target_reachable": floor_full <= TARGET_SECONDS,
        "machine": machine(load_start),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
