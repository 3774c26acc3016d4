"""What zero-cost proxies add to a GATES predictor on NB201 (target: Kendall tau >= 0.85 at
156 training archs, on every arch outside the training set, >= 5 seeds).

Variants on the same seeds (so each seed draws the same 156 archs): the plain predictor;
proxy quantiles as extra features; label-free proxy-ranking pretraining of the encoder;
both; each with `--ensemble K` predictors per seed. The proxies come from a `selfnas zc`
table of the whole space:

    selfnas zc --space nb201 --proxy params,flops,synflow,l2_norm --workers 2 --out zc.csv
    python benchmarks/predictor_proxies.py --scores zc.csv --proxies synflow,flops \
        --out benchmarks/results/predictor_proxies.json

or from NASLib's scores of 725 CIFAR-10 cells (`--naslib zc/zc_nb201.csv`): the data
proxies computed on CIFAR-10 itself, which this machine cannot do for the whole space; the
predictor then trains on 156 of those cells and is judged on the other 569.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _report import emit, machine
from selfnas.predictors.data import load_labelled
from selfnas.predictors.experiment import PredictSpec, run_seed
from selfnas.runtime import configure_threads

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "shared/data/nb201/nb201_200ep_cifar10.csv"


def variants(proxies: tuple[str, ...], scores: str, pretrain: int) -> dict[str, dict]:
    with_proxies = {"proxies": proxies, "scores": scores}
    return {
        "plain": {},
        "features": with_proxies,
        "pretrain": {**with_proxies, "proxy_features": False, "proxy_pretrain": pretrain},
        "features+pretrain": {**with_proxies, "proxy_pretrain": pretrain},
    }


def naslib_subset(naslib: str, table: str, folder: Path) -> tuple[str, str]:
    """The table restricted to the cells NASLib scored on CIFAR-10, and those scores, as
    files in `folder` (what `load_labelled` and the predictor features read)."""
    zc = pd.read_csv(naslib)
    zc = zc[zc["dataset"] == "cifar10"].drop(columns=["dataset", "val_accuracy"])
    full = pd.read_csv(table)
    subset = full[full["arch"].isin(set(zc["arch"]))]
    if len(subset) != len(zc):
        raise SystemExit(f"{table} lacks {len(zc) - len(subset)} of NASLib's {len(zc)} cells")
    subset.to_csv(folder / "table.csv", index=False)
    zc.to_csv(folder / "scores.csv", index=False)
    return str(folder / "table.csv"), str(folder / "scores.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", help="`selfnas zc` table of all NB201")
    source.add_argument("--naslib", help="NASLib's zc_nb201.csv: its CIFAR-10 cells only")
    parser.add_argument("--proxies", default="synflow,flops")
    parser.add_argument("--table", default=str(DEFAULT_TABLE))
    parser.add_argument("--metric", default="cifar10_test")
    parser.add_argument("--train-size", type=int, default=156)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pretrain", type=int, default=10, help="proxy pretraining epochs")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: deterministic here)"
    )
    parser.add_argument("--ensemble", type=int, default=1, help="predictors averaged per seed")
    parser.add_argument("--only", default=None, help="comma-separated subset of variants")
    parser.add_argument("--out", default="benchmarks/results/predictor_proxies.json")
    args = parser.parse_args()

    load = os.getloadavg()
    configure_threads(args.threads)
    workdir = tempfile.TemporaryDirectory()
    table, scores = args.table, args.scores
    if args.naslib:
        table, scores = naslib_subset(args.naslib, args.table, Path(workdir.name))
    data = load_labelled("nb201", "nb201", table, metric=args.metric)
    proxies = tuple(p.strip() for p in args.proxies.split(",") if p.strip())
    chosen = variants(proxies, str(Path(scores).resolve()), args.pretrain)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    results = {}
    for name, fields in chosen.items():
        spec = PredictSpec(
            train_size=args.train_size, seeds=args.seeds, ensemble=args.ensemble, **fields
        )
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
            "table": Path(args.table).name + (" ∩ NASLib's CIFAR-10 cells" if args.naslib else ""),
            "metric": args.metric,
            "archs": len(data),
            "train_size": args.train_size,
            "ensemble": args.ensemble,
            "proxies": list(proxies),
            "scores": Path(args.naslib or args.scores).name,
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
