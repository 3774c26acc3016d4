"""How faithful is the NB301 surrogate? Its predictions against 725 really trained genotypes.

    .venv/bin/python benchmarks/nb301_fidelity.py [--epoch 98] [--csv PATH]

`zc/zc_nb301.csv` (NAS-Bench-Suite-Zero, via NASLib) holds 725 DARTS genotypes trained
in NAS-Bench-301's pipeline on CIFAR-10, with their real `val_accuracy` (%). Each genotype
is parsed with the library's parser, the `nb301` surrogate (YAHPO Gym's ONNX export)
predicts all of them in one batched call at `--epoch` (default 98, the library's default
fidelity), and the script reports Kendall tau, Spearman rho and Pearson r between
prediction and real accuracy, the mean absolute and mean signed error (surrogate - real,
accuracy points), both ranges, and the top-k overlap (of the k best by real accuracy, how
many are among the surrogate's k best). The CSV's own `params` and `flops` columns are
ranked against the same accuracies as cheap references.

A row whose genotype does not parse, or that the surrogate cannot encode, or whose
accuracy is not a number, is counted and listed under `skipped`, never dropped silently.
A missing or unreadable data file ends the script with a message and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import numpy as np
from scipy.stats import kendalltau, pearsonr, spearmanr

from _report import emit, machine
from selfnas.benchmarks.nb301 import encode
from selfnas.datadir import data_dir
from selfnas.errors import InvalidArchitecture, SelfnasError
from selfnas.spaces.darts_genotype import Genotype, parse_genotype

#: the reference data beside the project, used when $SELFNAS_DATA names no other folder
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CSV = "zc/zc_nb301.csv"
COLUMNS = ("arch", "val_accuracy", "params", "flops")
REFERENCES = ("params", "flops")
TOP_K = (10, 50)
DIGITS = 4


class Fidelity(NamedTuple):
    """The report, and the vectors it was computed from (rows that were kept, CSV order)."""

    report: dict[str, Any]
    rows: list[int]  # CSV row index (0-based, header excluded) of each kept row
    real: np.ndarray
    predicted: np.ndarray
    params: np.ndarray
    flops: np.ndarray


def read_rows(path: Path) -> list[dict[str, str]]:
    """The CSV's rows as text; `FileNotFoundError`/`ValueError` when absent or malformed."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: lacks the column(s) {', '.join(missing)}")
        return list(reader)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def top_k_overlap(real: np.ndarray, predicted: np.ndarray, k: int) -> int:
    """How many of the k best by `real` are among the k best by `predicted` (ties broken by
    row order)."""
    best_real = np.argsort(-real, kind="stable")[:k]
    best_predicted = np.argsort(-predicted, kind="stable")[:k]
    return len(set(best_real.tolist()) & set(best_predicted.tolist()))


def correlations(x: np.ndarray, real: np.ndarray) -> dict[str, float]:
    return {
        "kendall_tau": round(float(kendalltau(x, real).statistic), DIGITS),
        "spearman_rho": round(float(spearmanr(x, real).statistic), DIGITS),
        "pearson_r": round(float(pearsonr(x, real).statistic), DIGITS),
    }


def _range(values: np.ndarray) -> dict[str, float]:
    return {
        "min": round(float(values.min()), DIGITS),
        "max": round(float(values.max()), DIGITS),
        "mean": round(float(values.mean()), DIGITS),
        "std": round(float(values.std()), DIGITS),
    }


def measure(rows: list[dict[str, str]], surrogate: Any, epoch: int = 98) -> Fidelity:
    """Parse every row, predict the parsable ones in one batched call of
    `surrogate.predict` at `epoch`, and compare with the real accuracies.

    `surrogate` is an `NB301Surrogate` (its `encoding` is used to find the genotypes it
    cannot encode before the batched call, so one bad row cannot sink the others)."""
    skipped: list[dict[str, Any]] = []
    kept: list[int] = []
    genotypes: list[Genotype] = []
    for index, row in enumerate(rows):
        accuracy = _number(row.get("val_accuracy"))
        if not math.isfinite(accuracy):
            skipped.append({"row": index, "reason": f"val_accuracy {row.get('val_accuracy')!r}"})
            continue
        try:
            genotype = parse_genotype(row["arch"])
        except InvalidArchitecture as exc:
            skipped.append({"row": index, "reason": f"does not parse: {exc}"})
            continue
        try:
            encode([genotype], surrogate.encoding)
        except InvalidArchitecture as exc:
            skipped.append({"row": index, "reason": f"surrogate cannot encode it: {exc}"})
            continue
        kept.append(index)
        genotypes.append(genotype)
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} of {len(rows)} rows are usable: {skipped[:5]}")

    started = time.perf_counter()
    predicted = np.asarray(surrogate.predict(genotypes, epoch)[:, 0], dtype=np.float64)
    predict_seconds = time.perf_counter() - started
    real = np.array([float(rows[i]["val_accuracy"]) for i in kept])
    params = np.array([_number(rows[i]["params"]) for i in kept])
    flops = np.array([_number(rows[i]["flops"]) for i in kept])

    error = predicted - real
    report: dict[str, Any] = {
        "rows": len(rows),
        "n": len(kept),
        "skipped": {"count": len(skipped), "rows": skipped},
        "epoch": epoch,
        "predict_seconds": round(predict_seconds, 3),
        "surrogate": correlations(predicted, real),
        "mean_absolute_error": round(float(np.abs(error).mean()), DIGITS),
        "mean_signed_error": round(float(error.mean()), DIGITS),
        "signed_error": {
            **_range(error),
            "rows_overpredicted": int((error > 0).sum()),
        },
        "real_val_accuracy": _range(real),
        "predicted_val_accuracy": _range(predicted),
        "top_k_overlap": {
            f"top{k}": {"overlap": top_k_overlap(real, predicted, k), "of": min(k, len(kept))}
            for k in TOP_K
        },
        "references": {},
    }
    for name, values in (("params", params), ("flops", flops)):
        finite = np.isfinite(values)
        report["references"][name] = {
            "n": int(finite.sum()),
            **correlations(values[finite], real[finite]),
            "top_k_overlap": {
                f"top{k}": top_k_overlap(real[finite], values[finite], k) for k in TOP_K
            },
        }
    return Fidelity(report, kept, real, predicted, params, flops)


def fail(message: str) -> NoReturn:
    print(f"nb301_fidelity: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", help=f"the genotypes (default: <data dir>/{CSV})")
    parser.add_argument("--model", help="the ONNX surrogate (default: from the data dir)")
    parser.add_argument("--epoch", type=int, default=98, help="surrogate fidelity (1..98)")
    parser.add_argument("--out", default="benchmarks/results/nb301_fidelity.json")
    args = parser.parse_args()
    os.environ.setdefault("SELFNAS_THREADS", "1")
    if "SELFNAS_DATA" not in os.environ and SHARED_DATA.exists():
        os.environ["SELFNAS_DATA"] = str(SHARED_DATA)
    from selfnas.benchmarks.nb301 import NB301Surrogate

    load_start = os.getloadavg()
    path = Path(args.csv) if args.csv else data_dir() / CSV
    try:
        rows = read_rows(path)
    except FileNotFoundError:
        fail(
            f"{path} not found: the 725 NB301 genotypes of NAS-Bench-Suite-Zero "
            f"(NASLib's zc_nasbench301.json as a CSV). Set $SELFNAS_DATA to the folder "
            f"holding {CSV} or pass --csv"
        )
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        fail(f"cannot read {path}: {exc}")
    try:
        surrogate = NB301Surrogate(args.model)
        fidelity = measure(rows, surrogate, args.epoch)
    except (SelfnasError, ValueError) as exc:
        fail(str(exc))
    result: dict[str, Any] = {
        "config": {
            "csv": str(path),
            "surrogate": str(surrogate.model_path),
            "metric": "val_accuracy (%), surrogate prediction vs real training",
        },
        **fidelity.report,
        "machine": machine(load_start),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
