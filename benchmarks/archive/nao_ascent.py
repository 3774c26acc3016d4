"""What NAO's gradient ascent reaches from a pretrained controller (a diagnostic, not a
speed target).

For each controller run directory: the spread of its arch embeddings over 500 random
NB201 cells; then one NAO search round as `selfnas search --strategy nao` does it (128
random cells queried, the controller trained on them with the default options), and for
that round the predictor's range over the pool, the mean gradient norm per token, Kendall
tau against 1,000 unseen cells, and how many of the 128 seeds decode to a new cell at
step sizes 1, 5, 20, 50, 100 and 1000.

    PYTHONPATH=benchmarks python benchmarks/archive/nao_ascent.py \\
        runs/nao-nb201-e150 runs/loc-margin-nb201-e20 \\
        --table DATA/nb201/nb201_200ep_cifar10.csv --out benchmarks/results/archive/nao_ascent.json
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.stats import kendalltau

from _report import emit, machine
from selfnas.encoders.seq import pool_tokens
from selfnas.search.problem import ProblemSpec, build_problem
from selfnas.search.runner import Budget, SeedRun

STEP_SIZES = (1, 5, 20, 50, 100, 1000)


def diagnose(controller: str, table: str, seed: int, options: dict) -> dict:
    spec = ProblemSpec(
        benchmark="nb201",
        benchmark_options={"tables": [table]},
        metric="cifar10_test",
        pretrained=controller,
    )
    problem = build_problem(spec)
    space = problem.space
    run = SeedRun(problem, "nao", options, seed, Budget(queries=300))
    run.step()  # the 128 random cells
    search = run.strategy
    ctl = search.controller
    with torch.no_grad():
        _, emb = ctl.encode(space.batch(space.sample(500, np.random.default_rng(seed + 1))))
    distances = torch.pdist(emb)
    search._train()
    pool = [a for a, _ in sorted(search.pool, key=lambda m: m[1], reverse=True)]
    with torch.no_grad():
        outputs, pooled = ctl.encode(space.batch(pool))
        predictions = ctl.predict(pooled)
    with torch.enable_grad():
        x = outputs.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(ctl.predict(pool_tokens(x)).sum(), x)
    new_cells = {}
    for k in STEP_SIZES:
        with torch.no_grad():
            archs = ctl.decode(ctl.nao_step(outputs, float(k)))
        new_cells[str(k)] = sum(a is not None and search.is_new(a) for a in archs)
    unseen = space.sample(1000, np.random.default_rng(seed + 2))
    truth = [problem.search_value(problem.benchmark.query(a)) for a in unseen]
    with torch.no_grad():
        scores = ctl.predict(ctl.encode(space.batch(unseen))[1]).numpy()
    return {
        "controller": controller,
        "embedding_pairwise_distance": {
            "mean": float(distances.mean()),
            "max": float(distances.max()),
        },
        "pool": len(pool),
        "prediction_range": [float(predictions.min()), float(predictions.max())],
        "gradient_norm_per_token": float(grad.norm(dim=-1).mean()),
        "kendall_tau_unseen_1000": float(kendalltau(scores, truth).statistic),
        "new_cells_of_seeds_by_step_size": new_cells,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("controllers", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--table", required=True, help="nb201_200ep_cifar10.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-epochs", type=int, default=None, help="nao's passes per round (default: its own)"
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    options = {} if args.train_epochs is None else {"train_epochs": args.train_epochs}
    result = {
        "diagnostic": "one NAO round on NB201 CIFAR-10 (cifar10_test)",
        "seed": args.seed,
        "train_epochs": args.train_epochs,
        "controllers": [diagnose(c, args.table, args.seed, options) for c in args.controllers],
        "machine": machine(),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
