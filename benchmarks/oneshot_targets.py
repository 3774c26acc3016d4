"""SSWP-NAS targets on MNIST 5k (CPU-small): search + fine-tune time, concomitant vs random
initialisation at a label fraction, and SSL+FPP's architecture vs SL's from scratch.

    SELFNAS_THREADS=1 .venv/bin/python benchmarks/oneshot_targets.py --out runs/oneshot_targets \
        --sl --inits concomitant random simclr --json benchmarks/results/oneshot_targets.json

Defaults: 5 cells, 8 channels, 10 search epochs of 1,280 weight-step images (FPP, skip
dropout 0.2, SimCLR), then 10 fine-tune epochs on 10 % of the labels; `--sl` also searches
with the supervised objective and trains its architecture from random initialisation.

Prints (and writes) one JSON document; times are wall seconds on the machine it ran on,
with the 1-minute load average recorded beside them. Rerunning with the same `--out` resumes:
a finished search or fine-tune is reused with its recorded accuracy and seconds (`reused`),
an interrupted one continues from its last epoch checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

from selfnas.atomic import write_json
from selfnas.oneshot.config import (
    DataConfig,
    LossConfig,
    RuntimeConfig,
    ScheduleConfig,
    SearchConfig,
    SupernetConfig,
)
from selfnas.oneshot.finetune import FinetuneConfig, finetune
from selfnas.oneshot.search import run_search


def _accuracy(entry: dict, init: str, fraction: float) -> float | None:
    return next(
        (
            row["test_accuracy"]
            for row in entry["finetune"]
            if row["init"] == init and row["label_fraction"] == fraction
        ),
        None,
    )


def _targets(runs: dict, fraction: float) -> dict:
    """The three CPU-small targets, each with its numbers and whether it is met."""
    ssl = runs.get("simclr")
    out: dict = {}
    if ssl is None:
        return out
    tuned = next((r for r in ssl["finetune"] if r["init"] == "concomitant"), None)
    if tuned is not None:
        seconds = ssl["search_seconds"] + tuned["seconds"]
        out["search_plus_finetune_seconds"] = {
            "value": seconds,
            "limit": 1200,
            "met": seconds <= 1200,
        }
    conc, rand = _accuracy(ssl, "concomitant", fraction), _accuracy(ssl, "random", fraction)
    if conc is not None and rand is not None:
        out["concomitant_minus_random_points"] = {
            "fraction": fraction,
            "concomitant": conc,
            "random": rand,
            "value": 100 * (conc - rand),
            "limit": 3.0,
            "met": 100 * (conc - rand) >= 3.0,
        }
    sl = runs.get("supervised")
    if sl is not None and rand is not None:
        sl_rand = _accuracy(sl, "random", fraction)
        if sl_rand is not None:
            out["ssl_fpp_vs_sl_arch_from_random"] = {
                "fraction": fraction,
                "ssl_fpp": rand,
                "sl_fpp": sl_rand,
                "met": rand >= sl_rand,
            }
    return out


def _machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as handle:
        model = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    return {"platform": platform.platform(), "cpu": model, "cpu_count": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/oneshot_targets")
    parser.add_argument("--json", default=None, help="also write the result here")
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images-per-epoch", type=int, default=1280)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1])
    parser.add_argument("--inits", nargs="+", default=["concomitant", "random"])
    parser.add_argument(
        "--sl", action="store_true", help="also search with the supervised objective"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    report: dict = {
        "command": "benchmarks/oneshot_targets.py " + " ".join(sys.argv[1:]),
        "machine": _machine(),
        "threads": 1,
        "load_avg_start": os.getloadavg()[0],
        "runs": {},
    }
    objectives = ["simclr", "supervised"] if args.sl else ["simclr"]
    for objective in objectives:
        config = SearchConfig(
            data=DataConfig(
                dataset="mnist5k",
                batch_size=args.batch_size,
                images_per_epoch=args.images_per_epoch,
            ),
            supernet=SupernetConfig(cells=args.cells, channels=args.channels),
            loss=LossConfig(objective=objective),
            schedule=ScheduleConfig(epochs=args.epochs, prune="fpp", skip_dropout=0.2),
            runtime=RuntimeConfig(device="cpu", threads=1),
            seed=args.seed,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_search(config, out / objective)
        entry = {
            "search_config": config.to_dict(),
            "search_seconds": result.seconds,
            "search_load_avg_after": os.getloadavg()[0],
            "genotypes": result.genotypes,
            "finetune": [],
        }
        inits = args.inits if objective == "simclr" else ["random"]
        for fraction in args.fractions:
            for init in inits:
                tuned = finetune(
                    out / objective,
                    FinetuneConfig(
                        label_fraction=fraction,
                        epochs=args.finetune_epochs,
                        init=init,
                        seed=args.seed,
                        device="cpu",
                        threads=1,
                    ),
                )
                entry["finetune"].append(
                    {
                        **{
                            k: tuned[k]
                            for k in ("init", "label_fraction", "test_accuracy", "seconds")
                        },
                        "reused": bool(tuned.get("cached", False)),
                        "load_avg_after": os.getloadavg()[0],
                    }
                )
                print(json.dumps(entry["finetune"][-1]), flush=True)
        # recorded seconds survive a resume (finished searches/fine-tunes are reused, not re-run)
        entry["search_plus_all_finetunes_seconds"] = result.seconds + sum(
            row["seconds"] for row in entry["finetune"]
        )
        entry["this_invocation_wall_seconds"] = time.perf_counter() - started
        entry["this_invocation_cpu_seconds"] = time.process_time() - cpu_started
        report["runs"][objective] = entry
    report["load_avg_end"] = os.getloadavg()[0]
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["targets"] = _targets(report["runs"], min(args.fractions, key=lambda f: abs(f - 0.1)))
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(args.json, report)


if __name__ == "__main__":
    main()
