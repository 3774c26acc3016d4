"""Locality pretraining step with pml's TripletMarginMiner against the row-wise twin.

One MarginLoss pretraining step on NB201 (512 archs: 64 anchors x 8, Table 3) with the
miner of pytorch-metric-learning and with `RowwiseTripletMarginMiner`, alternated on the
same batches in one run, one torch thread. Both return the same triplets (checked on each
batch), so the ratio is pure speed.

    python benchmarks/triplet_miner.py --out benchmarks/results/triplet_miner.json
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from pytorch_metric_learning.miners import TripletMarginMiner

from _report import emit, machine
from selfnas.pretrain.registry import get_objective
from selfnas.pretrain.trainer import space_data
from selfnas.pretrain.triplet_miner import RowwiseTripletMarginMiner
from selfnas.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    load_start = os.getloadavg()
    space = get_space("nb201")
    objective = get_objective("locality", space, loss="margin")
    kwargs = objective.metric.config.miner_kwargs
    miners = {"pml": TripletMarginMiner(**kwargs), "rowwise": RowwiseTripletMarginMiner(**kwargs)}
    optimizer, _ = objective.configure_optimizer(args.steps)
    batches = objective.batches(space_data(space, None, 0), np.random.default_rng(0), 0)
    step_seconds: dict[str, list[float]] = {name: [] for name in miners}
    mine_seconds: dict[str, list[float]] = {name: [] for name in miners}
    same = True
    for _ in range(args.steps):
        batch = next(batches)
        with torch.no_grad():
            _, emb, _ = objective.reconstruction(batch.archs)
        found = {}
        for name, miner in miners.items():
            began = time.perf_counter()
            found[name] = miner(emb, batch.labels)
            mine_seconds[name].append(time.perf_counter() - began)
        same &= all(torch.equal(a, b) for a, b in zip(found["pml"], found["rowwise"], strict=True))
        for name, miner in miners.items():  # one full step each, the model restored after
            state = {k: v.clone() for k, v in objective.state_dict().items()}
            objective.metric.miner = miner
            began = time.perf_counter()
            loss, _ = objective.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step_seconds[name].append(time.perf_counter() - began)
            objective.load_state_dict(state)
    med = {k: float(np.median(v)) for k, v in step_seconds.items()}
    mine = {k: float(np.median(v)) for k, v in mine_seconds.items()}
    result = {
        "benchmark": "locality MarginLoss step on NB201, batch 512 (64 anchors x 8)",
        "steps": args.steps,
        "same_triplets": bool(same),
        "median_mine_seconds": mine,
        "median_step_seconds": med,
        "mine_speedup": mine["pml"] / mine["rowwise"],
        "step_speedup": med["pml"] / med["rowwise"],
        "machine": machine(load_start),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
