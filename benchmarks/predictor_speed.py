"""Predictor speed: one GATES + hinge predictor trained on 1 % of NB201 (156 archs) that then
ranks all 15,625 cells, on one thread. Target: <= 20 s for the whole run.

Baseline, measured in the same run: the same model evaluated the way the published GATES
code does it, a dense `[N, V, V, D]` gate tensor computed per edge slot (a linear layer on
every edge's op embedding, absent edges masked afterwards). Ours computes each op's gate
once per layer and only for the edges that exist. Both give the same numbers (checked).

    python benchmarks/predictor_speed.py --out benchmarks/results/predictor_speed.json
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from _report import emit, machine
from selfnas.encoders.gates import GatesEncoder
from selfnas.predictors.data import load_labelled
from selfnas.predictors.experiment import PredictSpec, run_seed
from selfnas.spaces.batch import PAD, EdgeBatch


def dense_embed(enc: GatesEncoder, batch: EdgeBatch) -> torch.Tensor:
    """The published formulation: gates for all V x V slots, then masked and summed."""
    edge_ops = batch.edge_ops
    slot = edge_ops != PAD
    none = torch.isin(edge_ops, enc._edge_none)
    on = (slot & ~none).to(torch.float32).unsqueeze(-1)
    is_input = ~slot.any(dim=1)
    x = enc.edge_input_emb(torch.zeros_like(edge_ops[:, 0])) * is_input.unsqueeze(-1)
    y = enc.to_hidden(x)
    op_emb = enc.edge_op_emb(edge_ops.clamp(min=0))  # [N,V,V,E]
    for index, layer in enumerate(enc.layers):
        support = layer.weight(y)
        gates = torch.sigmoid(layer.gate(op_emb)) * on
        y = (gates * support.unsqueeze(2)).sum(dim=1) + support + layer.bias
        if index != len(enc.layers) - 1:
            y = torch.relu(y)
    return y[:, -1] if enc.readout == "output" else y[:, 1:].mean(dim=1)


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="nb201_200ep_cifar10.csv")
    parser.add_argument("--train-size", type=int, default=156)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the JSON result here too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_start = os.getloadavg()
    data = load_labelled("nb201", "nb201", args.table)

    runs = []
    spec = PredictSpec(encoder="gates", loss="hinge", train_size=args.train_size, seeds=1)
    for seed in range(args.seeds):
        start = time.perf_counter()
        row = run_seed(spec, data, seed)
        runs.append(
            {
                "seed": seed,
                "total_seconds": time.perf_counter() - start,
                "train_seconds": row["train_seconds"],
                "rank_all_seconds": row["score_seconds"],
                "kendall_tau": row["kendall_tau"],
                "n_at_5": row["n_at_5"],
            }
        )

    torch.manual_seed(0)
    enc = GatesEncoder(data.space, readout="output").eval()
    batch = data.space.edge_batch(data.archs)
    with torch.no_grad():
        ours = enc.embed(batch)
        dense = dense_embed(enc, batch)
        same = bool(torch.allclose(ours, dense, atol=1e-4))
        t_ours = timed(lambda: enc.embed(batch))
        t_dense = timed(lambda: dense_embed(enc, batch))

    result = {
        "what": "GATES+hinge predictor, NB201 cifar10_test, train on 156, rank all 15,625",
        "epochs": spec.epochs,
        "runs": runs,
        "mean_total_seconds": float(np.mean([r["total_seconds"] for r in runs])),
        "target_seconds": 20.0,
        "encode_all_15625": {
            "ours_seconds": t_ours,
            "dense_baseline_seconds": t_dense,
            "speedup": t_dense / t_ours,
            "same_output": same,
        },
        "machine": machine(load_start),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
