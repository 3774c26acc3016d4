"""Cost of one SSWP-NAS search step vs one training step of the derived network.

Each measurement runs in its own subprocess (so peak RSS is that step's own), at the
bar's configuration by default: MNIST 5k, 8 cells, 16 channels, batch 64 (two SimCLR views
= 128 images per forward), 1 torch thread.

    .venv/bin/python benchmarks/oneshot_step.py --json benchmarks/results/oneshot_step.json

Reports per kind: median wall and CPU seconds per step, peak RSS (ru_maxrss) and its rise
over the RSS before the first step, and autograd's saved-activation bytes per step.
Kinds: `weight` (search weight step), `arch` (architecture step), `fixed` (search step with
every cell fixed), `derived` (the exported network's training step, same objective) and
`all-ops` (a DARTS-style weight step: all 7 ops on all 14 edges, softmax-weighted, the
in-run baseline for what single-path sampling saves). Search kinds run with the search's
default recomputation (cells up to the first reduction recomputed in backward); suffix
`-norecompute` turns it off, `-recompute` recomputes every cell.

The bar (the authors' code on this machine, same configuration, 2 threads): about 5 s per
weight step and 4.15 GB peak memory; the targets are <= 1/3 of the time and <= 1/2 of the
memory, and a search step's peak memory <= 1.5x the derived network's training step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable

AUTHORS_STEP_S = 5.0
AUTHORS_PEAK_MB = 4.15e9 / 2**20


def _machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": model, "python": platform.python_version()}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(kind: str, cells: int, channels: int, batch: int, steps: int, threads: int) -> dict:
    """One kind in this process. Kinds use the search's default recomputation (the cells up
    to the first reduction); suffix `-norecompute`: none, `-recompute`: every cell."""
    recompute = None
    base = kind
    for suffix, count in (("-norecompute", 0), ("-recompute", -1)):
        if kind.endswith(suffix):
            recompute, base = count, kind.removesuffix(suffix)
    import torch

    from selfnas.oneshot.config import DataConfig, RuntimeConfig, SearchConfig, SupernetConfig
    from selfnas.oneshot.data import load_dataset
    from selfnas.oneshot.distributed import current
    from selfnas.oneshot.network import to_channels_last
    from selfnas.oneshot.search import SearchState, Stepper, build_objective

    torch.set_num_threads(threads)
    config = SearchConfig(
        data=DataConfig(batch_size=batch),
        supernet=SupernetConfig(cells=cells, channels=channels, checkpoint_cells=recompute),
        runtime=RuntimeConfig(device="cpu"),
    )
    data = load_dataset("mnist5k")
    device = torch.device("cpu")
    state = SearchState(config, data, device, current())
    objective = build_objective(config, data, device)
    stepper = Stepper(state, objective, config, current())
    generator = torch.Generator().manual_seed(0)
    x, y = data.train_x[:batch], data.train_y[:batch]
    if base in ("fixed", "derived"):
        state.model.fix_all()

    def clipped_step(
        module: torch.nn.Module,
        opt: torch.optim.Optimizer,
        params: Callable[[], Iterable[torch.Tensor]],
    ) -> None:
        """One training step of `module` on the batch, gradients clipped at norm 5: the
        `derived` and `all-ops` kinds differ only in the module and what it trains."""
        loss = objective(module, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params(), 5.0)
        opt.step()

    if base == "derived":
        network = to_channels_last(state.model.to_network())
        opt = torch.optim.SGD(network.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)

        def step() -> None:
            network.train()
            clipped_step(network, opt, network.parameters)
    elif base == "all-ops":
        model, w_opt = state.model, state.w_opt

        def step() -> None:
            model.train()
            model.sample_all_ops()
            clipped_step(model, w_opt, model.weight_parameters)
    elif base == "arch":

        def step() -> None:
            stepper.arch_step(x, y, generator)
    else:

        def step() -> None:
            stepper.weight_step(x, y, generator, 0.2)

    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    rss_before = _rss_mb()  # model, optimiser and data in memory; no step yet
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()  # warm-up step (allocator, oneDNN primitives), also counts saved bytes
    walls, cpus = [], []
    for _ in range(steps):
        w, c = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {
        "kind": kind,
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_steps_mb": rss_before,
        "saved_activation_mb": sum(saved.values()) / 2**20,
        "parameters": sum(
            p.numel() for p in (network if base == "derived" else state.model).parameters()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=[
            "weight",
            "arch",
            "fixed",
            "derived",
            "weight-norecompute",
            "arch-norecompute",
            "weight-recompute",
            "all-ops-norecompute",
        ],
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(
                measure(
                    args.one, args.cells, args.channels, args.batch_size, args.steps, args.threads
                )
            )
        )
        return
    rows = []
    load_before = os.getloadavg()[0]
    for kind in args.kinds:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                kind,
                "--cells",
                str(args.cells),
                "--channels",
                str(args.channels),
                "--batch-size",
                str(args.batch_size),
                "--steps",
                str(args.steps),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    by = {row["kind"]: row for row in rows}
    report = {
        "config": {
            "dataset": "mnist5k",
            "cells": args.cells,
            "channels": args.channels,
            "batch_size": args.batch_size,
            "views": 2,
            "threads": args.threads,
            "device": "cpu",
        },
        "load_avg": [load_before, os.getloadavg()[0]],
        "cpu_count": os.cpu_count(),
        "machine": _machine(),
        "rows": rows,
    }
    if "derived" in by:
        d = by["derived"]
        report["ratios_vs_derived"] = {
            kind: {
                "cpu_s": by[kind]["cpu_s"] / d["cpu_s"],
                "peak_rss": by[kind]["peak_rss_mb"] / d["peak_rss_mb"],
                "rss_rise": (by[kind]["peak_rss_mb"] - by[kind]["rss_before_steps_mb"] + 1e-9)
                / max(1e-9, d["peak_rss_mb"] - d["rss_before_steps_mb"]),
                "saved_activations": by[kind]["saved_activation_mb"] / d["saved_activation_mb"],
            }
            for kind in by
            if kind != "derived"
        }
    search_kinds = [k for k in by if k.startswith(("weight", "arch"))]
    # the bar: the authors' code here, same configuration, ~5 s per weight step, 4.15 GB
    report["vs_authors_code"] = {
        kind: {
            "wall_fraction": by[kind]["wall_s"] / AUTHORS_STEP_S,
            "cpu_fraction": by[kind]["cpu_s"] / AUTHORS_STEP_S,
            "peak_memory_fraction": by[kind]["peak_rss_mb"] / AUTHORS_PEAK_MB,
        }
        for kind in search_kinds
    }
    baseline = next((k for k in ("all-ops-norecompute", "all-ops") if k in by), None)
    if baseline:  # the in-run baseline: a DARTS-style step (all ops on all edges)
        a = by[baseline]
        report["vs_all_ops"] = {
            kind: {
                "cpu_s": by[kind]["cpu_s"] / a["cpu_s"],
                "peak_rss": by[kind]["peak_rss_mb"] / a["peak_rss_mb"],
                "saved_activations": by[kind]["saved_activation_mb"] / a["saved_activation_mb"],
            }
            for kind in search_kinds
        }
    print(json.dumps(report, indent=2))
    if args.json:
        from selfnas.atomic import write_json

        write_json(args.json, report)


if __name__ == "__main__":
    main()
