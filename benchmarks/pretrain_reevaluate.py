"""Re-run a pretraining run's last evaluation with today's metrics, on the same draws.

The run's checkpoint, its training split and the evaluation generator of its last epoch
(`evaluation_rng`, as the trainer seeds it) are rebuilt, so `validity` and
`uniqueness` come out as the run reported them, and metrics added since (such as NB101's
`uniqueness_unpruned`, the published code's count) are measured on the very same samples.

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
    reported = {k: final.get(k) for k in metrics}
    result = {
        "run": str(args.run_dir),
        "epoch": epoch + 1,
        "reevaluated": metrics,
        "reported": reported,
        "same_as_reported": all(
            reported[k] is None or abs(reported[k] - v) < 1e-9 for k, v in metrics.items()
        ),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
