"""`selfnas zc`: zero-cost proxy scores of many architectures, resumable.

- `zc --space S --proxy P[,P...] --out FILE [--dataset D] [--seed 0] [--batch-size 64]
  [--archs N] [--workers N] [--device auto] [--channels C] [--cells N] [--cache DIR]
  [--json]`: scores every arch of an enumerable space (or a sample of N drawn with the
  seed) and writes FILE (.csv or .parquet) with an `arch` column and one per proxy.
  Scores are kept in a cache (default: the selfnas cache folder's `zc/`) as they are
  computed, so an interrupted run resumes and a rerun recomputes nothing. Networks are
  built for the dataset's input shape (CIFAR-10's without `--dataset`); proxies that read
  images use the dataset, or the embedded `mnist5k` without one (said on stderr).
  `--json` prints `count`, `computed`, `cached`, `seconds` and the per-proxy `mean`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption

OUT_SUFFIXES = (".csv", ".parquet")


def register(subparsers: Any) -> None:
    zc = subparsers.add_parser(
        "zc", help="zero-cost proxy scores of many architectures (resumable, cached)"
    )
    zc.add_argument("--space", required=True, help="nb201, nb101, darts (nb301)")
    zc.add_argument(
        "--proxy",
        required=True,
        help="comma-separated proxies: params, flops, synflow, zen, l2_norm (data-free), "
        "snip, grasp, fisher, grad_norm, plain, jacov, nwot, epe_nas",
    )
    zc.add_argument(
        "--dataset",
        default=None,
        help="input shape and images: mnist5k, digits, animals10k, cifar10, cifar100 or "
        "folder:PATH (default: CIFAR-10 shape; images from the embedded mnist5k)",
    )
    zc.add_argument("--seed", type=int, default=0, help="weights, batch and sample seed")
    zc.add_argument("--batch-size", type=int, default=64, help="images per proxy batch")
    zc.add_argument(
        "--archs",
        type=int,
        default=None,
        metavar="N",
        help="score a seeded sample of N archs (default: all of an enumerable space)",
    )
    zc.add_argument("--workers", type=int, default=1, help="worker processes (1 thread each)")
    zc.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    zc.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 worker)")
    zc.add_argument("--channels", type=int, default=None, help="initial channels override")
    zc.add_argument("--cells", type=int, default=None, help="cells per stage override")
    zc.add_argument("--cache", default=None, help="score cache folder (default: selfnas cache)")
    zc.add_argument("--out", required=True, help="output table: FILE.csv or FILE.parquet")
    add_json_flag(zc)
    zc.set_defaults(handler=run_zc)


def select_archs(space: Any, count: int | None, seed: int) -> list[Hashable]:
    """All archs of an enumerable space, or `count` of them drawn with `seed` (distinct,
    in enumeration order); a space that cannot be enumerated is sampled."""
    if count is not None and count < 1:
        raise InvalidOption(f"--archs must be >= 1, got {count}")
    rng = np.random.default_rng(seed)
    if not space.enumerable:
        if count is None:
            raise InvalidOption(
                f"space {space.name!r} cannot be enumerated; give --archs N to score a sample"
            )
        return list(dict.fromkeys(space.sample(count, rng)))
    everything = space.enumerate()
    if count is None or count >= len(everything):
        return everything
    picked = np.sort(rng.choice(len(everything), size=count, replace=False))
    return [everything[int(i)] for i in picked]


def run_zc(args: argparse.Namespace) -> int:
    from selfnas import progress
    from selfnas.atomic import write_csv, write_parquet
    from selfnas.datadir import cache_dir
    from selfnas.runtime import configure_threads
    from selfnas.zc.cache import ScoreCache
    from selfnas.zc.scoring import DEFAULT_DATASET, resolve_proxies, resolve_space, score_archs

    out = Path(args.out)
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise InvalidOption(f"--out must end in {' or '.join(OUT_SUFFIXES)}, got {out.name!r}")
    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    space = resolve_space(args.space)
    proxies = resolve_proxies(args.proxy)
    reading = [p.name for p in proxies if not p.data_free]
    if reading and args.dataset is None:
        print(
            f"note: no --dataset; {', '.join(reading)} read the embedded {DEFAULT_DATASET} "
            "images (fitted to the CIFAR-10 shape)",
            file=sys.stderr,
        )
    archs = select_archs(space, args.archs, args.seed)
    cache = ScoreCache(Path(args.cache) if args.cache else cache_dir() / "zc")
    frame = score_archs(
        space.name,
        archs,
        [p.name for p in proxies],
        dataset=args.dataset,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        cache=cache,
        progress=not args.json,
        workers=args.workers,
        channels=args.channels,
        cells=args.cells,
    )
    (write_parquet if out.suffix.lower() == ".parquet" else write_csv)(out, frame)
    names = [p.name for p in proxies]
    summary: dict[str, Any] = {
        "count": len(frame),
        "computed": frame.attrs["computed"],
        "cached": frame.attrs["cached"],
        "seconds": frame.attrs["seconds"],
        "mean": {name: float(frame[name].mean()) for name in names},
        "dataset": args.dataset,
        "images": (args.dataset or DEFAULT_DATASET) if reading else None,
        "out": str(out),
    }
    if args.json:
        emit_json(summary)
        return 0
    computed = max(summary["computed"].values())
    print(
        f"{len(frame)} {space.name} archs, {computed} scored now, the rest cached "
        f"({summary['seconds']:.1f} s) -> {out}"
    )
    print_table(
        None,
        ["proxy", "mean", "computed", "cached"],
        [
            [n, f"{summary['mean'][n]:.6g}", summary["computed"][n], summary["cached"][n]]
            for n in names
        ],
    )
    return 0
