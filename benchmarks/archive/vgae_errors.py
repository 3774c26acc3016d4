"""Where a pretrained VGAE's reconstructions fail (a diagnostic, not a speed target).

On the run's held-out split (the first `--archs` of it): exact reconstruction by vertex
count, false-positive and false-negative edges per vertex pair, the edge logits' margin on
wrong and right pairs, and how far apart the two vertices' latent means are on wrong
pairs. A permutation-equivariant encoder on `A + Aᵀ` gives vertices it cannot tell apart
the same mean, and the symmetric `z_i · z_j` decoder then cannot say whether they are
joined: the share of errors on pairs closer than 0.05 measures that ceiling.

    PYTHONPATH=benchmarks python benchmarks/archive/vgae_errors.py runs/a2v-nb101-e16 \\
        --out benchmarks/results/archive/vgae_errors.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from _report import emit
from selfnas.pretrain.trainer import HOLDOUT, space_data, split_indices
from selfnas.runs.pretrain import load_run
from selfnas.spaces.batch import PAD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--archs", type=int, default=20_000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    objective, space, config = load_run(args.run_dir)
    objective.eval()
    data = space_data(space, config.get("samples"), int(config["seed"]), config.get("subset"))
    _, held = split_indices(len(data), HOLDOUT, int(config["seed"]))
    archs = data[torch.as_tensor(held[: args.archs])]
    with torch.no_grad():
        mu, _ = objective.encode(archs)
        rebuilt = objective.sample_decode(mu)  # what `reconstruct` returns
        _, adj_logits = objective.decode_logits(mu)  # for the margins
    v = archs.num_vertices
    rows, cols = torch.triu_indices(v, v, 1)
    ops_ok = (rebuilt.ops == archs.ops).all(1)
    truth = archs.adj[:, rows, cols]
    logits = adj_logits[:, rows, cols]
    wrong = rebuilt.adj[:, rows, cols] != truth
    exact = ops_ok & ~wrong.any(1)
    vertices = (archs.ops != PAD).sum(1)
    distance = (mu[:, rows] - mu[:, cols]).norm(dim=-1)
    result = {
        "run": str(args.run_dir),
        "epoch": json.loads((args.run_dir / "metrics.json").read_text())["final"].get("epoch"),
        "held_out_archs": len(archs),
        "exact": float(exact.float().mean()),
        "exact_by_vertices": {
            int(k): {
                "archs": int((vertices == k).sum()),
                "exact": float(exact[vertices == k].float().mean()),
            }
            for k in sorted(set(vertices.tolist()))
        },
        "ops_all_right": float(ops_ok.float().mean()),
        "graphs_with_an_edge_error": int(wrong.any(1).sum()),
        "false_positive_edges": int((wrong & (truth == 0)).sum()),
        "false_negative_edges": int((wrong & (truth == 1)).sum()),
        "errors_by_pair": {
            f"{int(a)}-{int(b)}": int(e) for a, b, e in zip(rows, cols, wrong.sum(0), strict=True)
        },
        "mean_abs_logit": {
            "wrong": float(logits[wrong].abs().mean()),
            "right": float(logits[~wrong].abs().mean()),
        },
        "median_latent_distance": {
            "wrong_pairs": float(distance[wrong].median()),
            "right_pairs": float(distance[~wrong].median()),
        },
        "share_of_errors_on_pairs_closer_than_0.05": float((distance[wrong] < 0.05).float().mean()),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
