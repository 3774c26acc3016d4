"""What zero-cost proxies add to a GATES predictor on NB201 (target: Kendall tau >= 0.85 at
156 training archs, on every arch outside the training set, >= 5 seeds).

Variants on the same seeds (so each seed draws the same 156 archs): the plain predictor;
proxy quantiles as extra features; label-free proxy-ranking pretraining of the encoder;
both. The proxies come from a `selfnas zc` table of the whole space.

    selfnas zc --space nb201 --proxy params,flops,synflow,l2_norm --workers 2 --out zc.csv
    python benchmarks/predictor_proxies.py --scores zc.csv --proxies synflow,flops \
        --out benchmarks/results/predictor_proxies.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from _report import emit, machine
from selfnas.predictors.data import load_labelled
from selfnas.predictors.experiment import PredictSpec, run_seed

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "shared/data/nb201/nb201_200ep_cifar10.csv"


def variants(proxies: tuple[str, ...], scores: str, pretrain: int) -> dict[str, dict]:
    with_proxies = {"proxies": proxies, "scores": scores}
    return {
        "plain": {},
        "features": with_proxies,
        "pretrain": {**with_proxies, "proxy_features": False, "proxy_pretrain": pretrain},
        "features+pretrain": {**with_proxies, "proxy_pretrain": pretrain},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", required=True, help="`selfnas zc` table of all NB201")
    parser.add_argument("--proxies", default="synflow,flops")
    parser.add_argument("--table", default=str(DEFAULT_TABLE))
    parser.add_argument("--metric", default="cifar10_test")
    parser.add_argument("--train-size", type=int, default=156)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pretrain", type=int, default=10, help="proxy pretraining epochs")
    parser.add_argument("--only", default=None, help="comma-separated subset of variants")
    parser.add_argument("--out", default="benchmarks/results/predictor_proxies.json")
    args = parser.parse_args()

    load = os.getloadavg()
    data = load_labelled("nb201", "nb201", args.table, metric=args.metric)
    proxies = tuple(p.strip() for p in args.proxies.split(",") if p.strip())
    chosen = variants(proxies, str(Path(args.scores).resolve()), args.pretrain)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    results = {}
    for name, fields in chosen.items():
        spec = PredictSpec(train_size=args.train_size, seeds=args.seeds, **fields)
        taus = [run_seed(spec, data, seed)["kendall_tau"] for seed in range(args.seeds)]
        results[name] = {
            "kendall_tau_mean": float(np.mean(taus)),
            "kendall_tau_std": float(np.std(taus, ddof=1)) if len(taus) > 1 else None,
            "seeds": len(taus),
            "per_seed": taus,
            "label": spec.label,
        }
        print(name, f"{np.mean(taus):.4f}", flush=True)
    base = results.get("plain", {}).get("kendall_tau_mean")
    emit(
        {
            "table": Path(args.table).name,
            "metric": args.metric,
            "archs": len(data),
            "train_size": args.train_size,
            "proxies": list(proxies),
            "scores": Path(args.scores).name,
            "results": results,
            "gain_over_plain": {
                k: v["kendall_tau_mean"] - base for k, v in results.items() if base is not None
            },
            "target": "kendall_tau_mean >= 0.85",
            "machine": machine(load),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
