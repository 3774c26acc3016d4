"""Where a VGAE's valid draws repeat (a diagnostic, not a speed target).

Uniqueness counts distinct cells among the valid draws of the validity metric (the run's
last evaluation, rebuilt as `vgae_sample_failures.py` does). Draws are grouped by the size
of the cell they decode to (vertices left after pruning; one group where the space's cells
all have one size), and each group's share of the valid draws, its distinct share and its
share of the training data are reported, beside the distinct share that draws spread
uniformly over the run's cells (training and held-out) would give. The full and diagonal
fits are measured on the same noise; on NB101 the per-size mixture (`_by_size`) too.

    PYTHONPATH=benchmarks python benchmarks/archive/vgae_sample_duplicates.py runs/a2v-nb101-full \\
        --out benchmarks/results/archive/vgae_sample_duplicates_a2v-nb101-full.json
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import torch
from _draws import last_evaluation_draws, run_parser

from _report import emit
from selfnas.pretrain.metrics import cell_sizes, decode_draws


def uniform_distinct_share(draws: int, cells: int) -> float:
    """Expected distinct share of `draws` independent uniform draws over `cells` cells."""
    return cells * (1 - math.exp(-draws / cells)) / draws if draws else 0.0


def size_of(arch: Any) -> str:
    """Vertices of a decoded cell where cells vary in size (NB101), else one group."""
    ops = getattr(arch, "operations", None)
    return "all" if ops is None else str(len(ops))


def group_by_size(space: Any, draws: Any) -> dict[str, Any]:
    """Valid draws per decoded cell size: how many, how many distinct."""
    per_size: dict[str, list[str]] = defaultdict(list)
    for _, _, arch in decode_draws(space, draws):
        if arch is not None:
            per_size[size_of(arch)].append(space.hash(arch))
    valid = sum(len(h) for h in per_size.values())
    return {
        "valid": valid,
        "distinct_share": len({h for hs in per_size.values() for h in hs}) / max(valid, 1),
        "by_size": {
            size: {
                "share_of_valid": len(hashes) / valid,
                "distinct_share": len(set(hashes)) / len(hashes),
                "most_repeated_cell_draws": Counter(hashes).most_common(1)[0][1],
            }
            for size, hashes in sorted(per_size.items())
        },
    }


def main() -> None:
    parser = run_parser(__doc__)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = last_evaluation_draws(args.run_dir)
    sizes = cell_sizes(run.train).tolist()
    if len(set(sizes)) > 1:
        data_share = {str(k): v / len(sizes) for k, v in sorted(Counter(sizes).items())}
    else:
        data_share = {"all": 1.0}
    result: dict[str, Any] = {"run": str(args.run_dir), "epoch": run.epoch, "draws": run.samples}
    for fit, draws in run.draws.items():
        counts = group_by_size(run.space, draws)
        for size, share in data_share.items():
            counts["by_size"].setdefault(size, {})["share_of_training_data"] = share
        counts["distinct_share_if_spread_like_the_data"] = uniform_distinct_share(
            counts["valid"], run.cells
        )
        result[fit] = counts
    emit(result, args.out)


if __name__ == "__main__":
    main()
