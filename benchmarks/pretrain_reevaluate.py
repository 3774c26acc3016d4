"""Re-run a pretraining run's last evaluation with today's metrics, on the same draws.

The run's checkpoint, its training split and the evaluation generator of its last epoch
(`evaluation_rng`, as the trainer seeds it) are rebuilt, so `validity` and
`uniqueness` come out as the run reported them, and metrics added since (such as NB101's
`uniqueness_unpruned`, the published code's count) are measured on the very same samples.
Runs recorded before validity was drawn from the full-covariance fit reported the diagonal
fit's counts under the plain keys; they are checked against the `_diagonal` keys.

    python benchmarks/pretrain_reevaluate.py runs/a2v-nb101 \\
        --out benchmarks/results/reevaluate_a2v-nb101.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from _report import emit
from selfnas.cli.pretrain_cmd import load_run
from selfnas.pretrain.metrics import pretraining_protocol
from selfnas.pretrain.trainer import HOLDOUT, evaluation_rng, space_data, split_indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    objective, space, config = load_run(args.run_dir)
    seed = int(config["seed"])
    final = json.loads((args.run_dir / "metrics.json").read_text())["final"]
    epoch = int(final["epoch"]) - 1
    data = space_data(space, config.get("samples"), seed, config.get("subset"))
    train_idx, held_idx = split_indices(len(data), config.get("holdout", HOLDOUT), seed)
    evaluate = pretraining_protocol(int(config.get("validity_samples", 10_000)))
    metrics = evaluate(
        objective,
        data[torch.as_tensor(train_idx)],
        data[torch.as_tensor(held_idx)],
        epoch,
        evaluation_rng(seed, epoch),
    )
    # runs saved before the full fit hold the diagonal fit's counts under the plain keys
    legacy = "validity" in final and "validity_diagonal" not in final
    reported = {
        k: final.get(k.removesuffix("_diagonal") if legacy else k)
        for k in metrics
        if not (legacy and f"{k}_diagonal" in metrics)
    }
    result = {
        "run": str(args.run_dir),
        "epoch": epoch + 1,
        "reevaluated": metrics,
        "reported": reported,
        "reported_with_the_diagonal_fit_under_the_plain_keys": legacy,
        "same_as_reported": all(
            reported[k] is None or abs(reported[k] - metrics[k]) < 1e-9 for k in reported
        ),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
