"""Re-run a pretraining run's last evaluation with today's metrics, on the same draws.

The run's checkpoint, its training split and the evaluation generator of its last epoch
(`evaluation_rng`, as the trainer seeds it) are rebuilt, so `validity` and
`uniqueness` come out as the run reported them, and metrics added since (such as NB101's
`uniqueness_unpruned`, the published code's count) are measured on the very same samples.
Runs recorded before validity was drawn from the full-covariance fit reported the diagonal
fit's counts under the plain keys; they are checked against the `_diagonal` keys.

    PYTHONPATH=benchmarks python benchmarks/archive/pretrain_reevaluate.py runs/a2v-nb101 \\
        --out benchmarks/results/archive/reevaluate_a2v-nb101.json
"""

from __future__ import annotations

import torch
from _draws import load_run_split, run_parser

from _report import emit
from selfnas.pretrain.metrics import pretraining_protocol
from selfnas.pretrain.trainer import evaluation_rng


def main() -> None:
    parser = run_parser(__doc__)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = load_run_split(args.run_dir)
    final, epoch, seed = run.final, run.epoch - 1, int(run.config["seed"])
    evaluate = pretraining_protocol(int(run.config.get("validity_samples", 10_000)))
    metrics = evaluate(run.objective, run.train, run.held_out, epoch, evaluation_rng(seed, epoch))
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
