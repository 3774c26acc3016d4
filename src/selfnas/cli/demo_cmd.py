"""`selfnas demo`: a few-second tour that needs no downloaded data (interim version).

Shows the search spaces, enumerates NAS-Bench-201 and counts its cells and its classes of
cells that compute the same function, and samples a few archs of each space.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from selfnas.cli.space_cmd import available_spaces, print_spaces_table
from selfnas.spaces import get_space


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="a quick tour of selfnas (no data needed)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    spaces = list(available_spaces())
    print_spaces_table([space.describe() for space in spaces])

    nb201 = get_space("nb201")
    start = time.perf_counter()
    cells = nb201.enumerate()
    classes = {nb201.unique_key(cell) for cell in cells}  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    print(
        f"\nNAS-Bench-201: enumerated {len(cells):,} cells in {seconds:.2f} s; "
        f"{len(classes):,} classes of cells that compute the same function"
    )

    rng = np.random.default_rng(args.seed)
    for space in spaces:
        if space.name == "nb101":
            continue  # its sample may need the full enumeration; keep the demo quick
        print(f"\n{space.name}: 2 random archs (seed {args.seed})")
        for arch in space.sample(2, rng):
            print(f"  {space.format(arch)}")
    return 0
