"""Our zero-cost proxies against NASLib's published scores (`zc/zc_nb201.csv`).

    .venv/bin/python benchmarks/zc_check.py [--data animals10k] [--limit 160]

Every network is the benchmark's own NB201 network, built under `torch.manual_seed(seed)`
and scored on one batch of `--batch-size` images (NASLib: 32 normalised CIFAR-10 images).
There is no CIFAR-10 here, so `--data` names the stand-in: a `selfnas.oneshot.data` set
(grey images resized to 32x32 and replicated to 3 channels) or `noise`.

1. Cheap proxies on every row of all three datasets (725 cells each): `params` and
   `flops` must equal NASLib's counts exactly; `synflow` and `l2_norm` (data-free) are
   compared by Spearman rank correlation with NASLib's column (target >= 0.95), and, on
   CIFAR-10, with our own scores under another init seed (the ceiling: NASLib's init
   draws are not ours).
2. Every proxy on `--limit` CIFAR-10 cells spread evenly over NB201's 200-epoch CIFAR-10
   test accuracy (all 725 with `--limit 0`): Spearman with NASLib's column, and Kendall
   tau against that accuracy, ours vs NASLib's on the same cells (target: within 0.05).
   `zen` has no NASLib column, so only its tau is reported.
3. On `--ceiling-limit` of those cells, the same proxies under init seed + 1 (Spearman
   with the first seed: the init-noise ceiling); on `--compare-limit` of them (default
   all), the data-dependent proxies with the `--compare` stand-ins, to show which
   stand-in tracks CIFAR-10 best.
4. Per-arch seconds of each proxy alone (mean over `--time-archs` cells, 1 thread).

A NaN in NASLib's column drops that row from its proxy's statistics; NASLib's -inf (a
singular nwot kernel) counts as its failure value -1e8, as ours does.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from _report import emit, machine
from selfnas.datadir import data_dir
from selfnas.nets import build_network, dataset_shape
from selfnas.spaces import get_space
from selfnas.zc import (
    DATA_FREE,
    FAILED_SCORE,
    PROXIES,
    Batch,
    dataset_batch,
    noise_batch,
    score_many,
)

#: the reference data beside the project, used when $SELFNAS_DATA names no other folder
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHEAP = ("params", "flops", "synflow", "l2_norm")
DATA_DEPENDENT = tuple(name for name in PROXIES if name not in DATA_FREE)
#: NASLib reports these in millions
MILLIONS = ("params", "flops")


def read_rows() -> list[dict[str, Any]]:
    """NASLib's rows, with the NB201 200-epoch CIFAR-10 test accuracy joined on."""
    with open(data_dir() / "nb201" / "nb201_200ep_cifar10.csv", newline="") as handle:
        accuracy = {row["arch"]: float(row["cifar10_test"]) for row in csv.DictReader(handle)}
    with open(data_dir() / "zc" / "zc_nb201.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["test_accuracy"] = accuracy[row["arch"]]
    return rows


def naslib_value(row: dict[str, Any], name: str) -> float:
    """NASLib's score in our units (counts, not millions; -inf as the failure value)."""
    text = row.get(name, "")
    value = float(text) if text not in ("", None) else math.nan
    if name in MILLIONS:
        return float(round(value * 1e6))
    return FAILED_SCORE if value == -math.inf else value


def spread(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """`limit` rows evenly spaced in test-accuracy order (all rows for 0 or more than all)."""
    ordered = sorted(rows, key=lambda r: (r["test_accuracy"], r["arch"]))
    if limit <= 0 or limit >= len(ordered):
        return ordered
    picks = np.unique(np.linspace(0, len(ordered) - 1, limit).round().astype(int))
    return [ordered[i] for i in picks]


def network(row: dict[str, Any], seed: int) -> torch.nn.Module:
    shape = dataset_shape(row["dataset"])
    torch.manual_seed(seed)
    return build_network("nb201", get_space("nb201").parse(row["arch"]), shape)


def agreement(
    ours: list[float], theirs: list[float] | None, accuracy: list[float]
) -> dict[str, Any]:
    """Spearman of ours with NASLib's, and each one's Kendall tau with test accuracy (only
    ours when NASLib has no such column)."""
    keep = [i for i in range(len(ours)) if theirs is None or not math.isnan(theirs[i])]
    a = np.array([ours[i] for i in keep])
    acc = np.array([accuracy[i] for i in keep])
    out: dict[str, Any] = {"cells": len(keep)}
    out["tau_ours"] = round(float(kendalltau(a, acc).statistic), 4)
    if theirs is not None:
        b = np.array([theirs[i] for i in keep])
        out["spearman_naslib"] = round(float(spearmanr(a, b).statistic), 4)
        out["tau_naslib"] = round(float(kendalltau(b, acc).statistic), 4)
        out["tau_gap"] = round(out["tau_ours"] - out["tau_naslib"], 4)
    return out


def naslib_column(rows: list[dict[str, Any]], name: str) -> list[float] | None:
    """NASLib's scores of `name` for these rows, or None where the data has no column."""
    if name not in rows[0]:
        return None
    return [naslib_value(r, name) for r in rows]


def score_rows(
    rows: list[dict[str, Any]], names: tuple[str, ...], batch: Batch, seed: int
) -> dict[str, list[float]]:
    """Our scores of every row (one fresh seeded network per row, passes shared)."""
    ours: dict[str, list[float]] = {name: [] for name in names}
    for i, row in enumerate(rows, 1):
        for name, value in score_many(names, network(row, seed), batch).items():
            ours[name].append(value)
        if i % 50 == 0:
            print(f"  {i}/{len(rows)} cells", flush=True)
    return ours


def report(rows: list[dict[str, Any]], ours: dict[str, list[float]]) -> dict[str, Any]:
    """Agreement with NASLib of every proxy scored (counts: exact matches)."""
    accuracy = [r["test_accuracy"] for r in rows]
    out: dict[str, Any] = {}
    for name, values in ours.items():
        theirs = naslib_column(rows, name)
        if name in MILLIONS and theirs is not None:
            same = sum(a == b for a, b in zip(values, theirs, strict=True))
            out[name] = {"exact": same, "of": len(rows)}
        else:
            out[name] = agreement(values, theirs, accuracy)
    return out


def seed_ceiling(
    rows: list[dict[str, Any]], ours: dict[str, list[float]], other: dict[str, list[float]]
) -> dict[str, Any]:
    """Spearman of our scores under two init seeds: how closely any implementation can
    track NASLib's, whose own init draws differ from ours."""
    accuracy = [r["test_accuracy"] for r in rows]
    return {
        name: {
            "spearman_other_seed": round(float(spearmanr(ours[name], other[name]).statistic), 4),
            "tau_other_seed": round(float(kendalltau(other[name], accuracy).statistic), 4),
        }
        for name in other
    }


def evenly(total: int, count: int) -> list[int]:
    """`count` positions spread evenly over `total` (all of them for 0 or more)."""
    if count <= 0 or count >= total:
        return list(range(total))
    return sorted(set(np.linspace(0, total - 1, count).round().astype(int).tolist()))


def pick(ours: dict[str, list[float]], positions: list[int]) -> dict[str, list[float]]:
    return {name: [values[i] for i in positions] for name, values in ours.items()}


def proxy_seconds(rows: list[dict[str, Any]], batch: Batch, seed: int) -> dict[str, float]:
    """Mean seconds of each proxy alone on one fresh network, over `rows`."""
    totals = dict.fromkeys(PROXIES, 0.0)
    for row in rows:
        for name, proxy in PROXIES.items():
            net = network(row, seed)
            started = time.perf_counter()
            proxy(net, batch)
            totals[name] += time.perf_counter() - started
    return {name: round(total / len(rows), 3) for name, total in totals.items()}


def cheap_part(by_dataset: dict[str, list[dict[str, Any]]], seed: int) -> dict[str, Any]:
    """Part 1: counts, synflow and l2_norm on every row of every dataset, and the init
    seed ceiling of the two data-free scores on CIFAR-10."""
    out: dict[str, Any] = {}
    for dataset, rows in by_dataset.items():
        print(f"cheap proxies on {len(rows)} {dataset} cells", flush=True)
        batch = noise_batch(dataset_shape(dataset), size=1, labels=False)  # shape only
        ours = score_rows(rows, CHEAP, batch, seed)
        out[dataset] = {"cells": len(rows), **report(rows, ours)}
        if dataset == "cifar10":
            other = score_rows(rows, ("synflow", "l2_norm"), batch, seed + 1)
            out[dataset]["seed_ceiling"] = seed_ceiling(rows, ours, other)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="animals10k", help="stand-in images, or noise")
    parser.add_argument("--limit", type=int, default=160, help="CIFAR-10 cells (0: all 725)")
    parser.add_argument("--compare", default="noise,mnist5k", help="other stand-ins")
    parser.add_argument("--compare-limit", type=int, default=0, help="their cells (0: all)")
    parser.add_argument("--ceiling-limit", type=int, default=40, help="other seed's cells")
    parser.add_argument("--time-archs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-cheap", action="store_true", help="leave out part 1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/zc_check.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if "SELFNAS_DATA" not in os.environ and SHARED_DATA.exists():
        os.environ["SELFNAS_DATA"] = str(SHARED_DATA)
    load_start = os.getloadavg()
    started = time.perf_counter()
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for row in read_rows():
        by_dataset.setdefault(row["dataset"], []).append(row)
    result: dict[str, Any] = {
        "config": {
            "data": args.data,
            "batch_size": args.batch_size,
            "seed": args.seed,
            "network": "NB201, 16 channels, 5 cells per stage, built for each dataset",
        }
    }
    if not args.skip_cheap:
        result["cheap_all_rows"] = cheap_part(by_dataset, args.seed)

    cells = spread(by_dataset["cifar10"], args.limit)
    shape = dataset_shape("cifar10")
    batch = dataset_batch(args.data, shape, size=args.batch_size, seed=args.seed)
    print(f"all proxies on {len(cells)} cifar10 cells with {args.data}", flush=True)
    phase = time.perf_counter()
    ours = score_rows(cells, tuple(PROXIES), batch, args.seed)
    result["cifar10"] = {
        "cells": len(cells),
        "seconds_per_cell_all_proxies": round((time.perf_counter() - phase) / len(cells), 3),
        "proxies": report(cells, ours),
    }

    positions = evenly(len(cells), args.ceiling_limit)
    subset = [cells[i] for i in positions]
    names = tuple(n for n in PROXIES if n not in CHEAP)
    print(f"other init seed on {len(subset)} of those cells", flush=True)
    other = score_rows(subset, names, batch, args.seed + 1)
    result["seed_ceiling"] = {
        "cells": len(subset),
        "proxies": seed_ceiling(subset, pick(ours, positions), other),
    }
    positions = evenly(len(cells), args.compare_limit)
    subset = [cells[i] for i in positions]
    result["stand_ins"] = {"cells": len(subset), args.data: report(subset, pick(ours, positions))}
    for data in filter(None, args.compare.split(",")):
        print(f"stand-in {data} on {len(subset)} cells", flush=True)
        other_batch = dataset_batch(data, shape, size=args.batch_size, seed=args.seed)
        result["stand_ins"][data] = report(
            subset, score_rows(subset, DATA_DEPENDENT, other_batch, args.seed)
        )
    if args.time_archs > 0:
        timed = spread(by_dataset["cifar10"], args.time_archs)
        result["seconds_per_proxy"] = proxy_seconds(timed, batch, args.seed)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["machine"] = machine(load_start)
    emit(result, args.out)


if __name__ == "__main__":
    main()
