"""Why a VGAE's validity draws fail (a diagnostic, not a speed target).

The draws are the validity metric's own (the run's last evaluation: same training latents,
same generator, the full-covariance fit unless `--fit diagonal|by_size`), decoded; each is
compared with what the training data ever holds at each position: an op a vertex never
holds there (e.g. `output` on a middle NB201 vertex), an edge entry a vertex pair never
takes (NB201's fixed adjacency), a vertex left without any incoming edge where every
training graph feeds it (a starved DARTS op vertex), and the mean number of edges per graph.

    PYTHONPATH=benchmarks python benchmarks/archive/vgae_sample_failures.py runs/a2v-darts-opbias \\
        --out benchmarks/results/archive/vgae_sample_failures_a2v-darts-opbias.json
"""

from __future__ import annotations

import torch
from _draws import last_evaluation_draws, run_parser

from _report import emit
from selfnas.pretrain.metrics import FIT_SUFFIXES


def main() -> None:
    parser = run_parser(__doc__)
    parser.add_argument(
        "--fit",
        choices=tuple(FIT_SUFFIXES),
        default="full",
        help="the fit the draws come from (by_size: one full Gaussian per cell size, NB101)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = last_evaluation_draws(args.run_dir)
    if args.fit not in run.draws:
        parser.error(f"{args.run_dir}'s cells all have one size: no {args.fit} draws")
    train, draws, epoch, samples = run.train, run.draws[args.fit], run.epoch, run.samples
    v = train.num_vertices
    rows, cols = torch.triu_indices(v, v, 1)
    # ops: shift so PAD (-1) is a column too; seen[v, k]: vertex v holds op k somewhere
    width = int(max(train.ops.max(), draws.ops.max())) + 2
    seen_ops = torch.zeros(v, width, dtype=torch.bool)
    seen_ops[torch.arange(v).expand_as(train.ops), train.ops + 1] = True
    unseen_op = ~seen_ops[torch.arange(v).expand_as(draws.ops), draws.ops + 1]
    train_edges = train.adj[:, rows, cols] > 0.5
    drawn_edges = draws.adj[:, rows, cols] > 0.5
    can_be = torch.stack([(~train_edges).any(0), train_edges.any(0)])  # [2, pairs]
    unseen_edge = ~can_be[drawn_edges.long(), torch.arange(len(rows))]
    always_fed = (train.adj.sum(1) > 0).all(0)
    starved = (draws.adj.triu(1).sum(1) == 0) & always_fed
    result = {
        "run": str(args.run_dir),
        "epoch": epoch,
        "draws": samples,
        "fit": args.fit,
        "share_with_an_op_never_seen_at_its_vertex": float(unseen_op.any(1).float().mean()),
        "share_with_an_edge_entry_never_seen_at_its_pair": float(unseen_edge.any(1).float().mean()),
        "share_with_an_always_fed_vertex_unfed": float(starved.any(1).float().mean()),
        "mean_edges_per_graph": {
            "draws": float(drawn_edges.sum(1).float().mean()),
            "training_data": float(train_edges.sum(1).float().mean()),
        },
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
