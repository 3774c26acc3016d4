"""The three GATES tables (Ning et al. 2020, slides "Results on NAS-Bench-101/201"):
encoders x train proportions and losses x train proportions (Kendall tau), and N@5 / N@10
of each encoder under a ranking and a regression loss.

The slides give the encoder and loss tables for NAS-Bench-101 only (proportions of its
381,262-arch training pool) and N@K for both spaces. We run NAS-Bench-201 (CIFAR-10,
200-epoch test accuracy) everywhere, and NAS-Bench-101 where its full file is present; an
NB201 row is shown beside the paper's NB101 number at the same proportion, marked as such.

Full mode fits a CPU: 2 seeds x 200 epochs per cell, columns 0.05 % .. 10 % of the training
pool (a column under 8 archs is skipped: 0.05 % of NB201); the 50 % and 100 % columns keep
the paper's numbers, and a note extrapolates what one such cell would cost. N@K is measured
at 10 %. Quick mode: 1 seed x 15 epochs at 1 %, GATES and MLP only. Every finished seed is
cached as `OUT/cells/<spec_key>.json`, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from selfnas.atomic import write_json
from selfnas.reproduce.base import Context, Published, Report, Reproduction, Row, attach_paper
from selfnas.reproduce.common import data_file, nb101_official
from selfnas.stats import mean_std

CITATION = (
    "Ning et al., *A Generic Graph-based Neural Architecture Encoding Scheme for "
    "Predictor-based NAS* (GATES), {table} (`/work/shared/papers/004_*.txt`)"
)
PROPORTIONS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)
PROP_LABELS = ("0.05%", "0.1%", "0.5%", "1%", "5%", "10%", "50%", "100%")
#: the columns full mode runs on a CPU (the 50 % and 100 % columns keep the paper's numbers)
FULL_LABELS = PROP_LABELS[:6]
FULL_SEEDS = 2
EPOCHS = (15, 200)  # quick, full
MIN_TRAIN = 8  # fewer training archs than this make no column
CELLS = "cells"  # OUT/cells/<spec_key>.json: one finished seed of one configuration

#: encoder table: our encoder name -> (paper row, NB101 Kendall tau per proportion)
ENCODERS = {
    "mlp": ("MLP", (0.3971, 0.5272, 0.6463, 0.7312, 0.8592, 0.8718, 0.8893, 0.8955)),
    "seq": ("LSTM", (0.5509, 0.5993, 0.7112, 0.7747, 0.8440, 0.8576, 0.8859, 0.8931)),
    "gcn": (
        "GCN (w.o. global node)",
        (0.3992, 0.4628, 0.6963, 0.8243, 0.8626, 0.8721, 0.8910, 0.8952),
    ),
    "gcn-global": (
        "GCN (global node)",
        (0.5343, 0.5790, 0.7915, 0.8277, 0.8641, 0.8747, 0.8918, 0.8950),
    ),
    "gates": ("GATES", (0.7634, 0.7789, 0.8434, 0.8594, 0.8841, 0.8922, 0.9001, 0.9030)),
}
#: loss table: (encoder, loss) -> (paper row, NB101 Kendall tau per proportion)
LOSSES = {
    ("gcn", "mse"): (
        "Regression (MSE) + GCN",
        (0.4536, 0.5058, 0.5587, 0.5699, 0.5846, 0.5871, 0.5901, 0.5941),
    ),
    ("gates", "mse"): (
        "Regression (MSE) + GATES",
        (0.4935, 0.5425, 0.5739, 0.6323, 0.7439, 0.7849, 0.8247, 0.8352),
    ),
    ("gates", "bce"): (
        "Pairwise (BCE)",
        (0.7460, 0.7696, 0.8352, 0.8550, 0.8828, 0.8913, 0.9006, 0.9042),
    ),
    ("gates", "comparator"): (
        "Pairwise (Comparator)",
        (0.7250, 0.7622, 0.8367, 0.8540, 0.8793, 0.8891, 0.8987, 0.9011),
    ),
    ("gates", "hinge"): (
        "Pairwise (Hinge)",
        (0.7634, 0.7789, 0.8434, 0.8594, 0.8841, 0.8922, 0.9001, 0.9030),
    ),
    ("gates", "listmle"): (
        "Listwise (ListMLE)",
        (0.7359, 0.7604, 0.8312, 0.8558, 0.8852, 0.8897, 0.9003, 0.9009),
    ),
}
#: N@K table: space -> encoder -> (ranking N@5, N@10, regression N@5, N@10); None where the
#: slide text is garbled (GCN on NB101, LSTM on NB201)
NAK = {
    "NAS-Bench-101": {
        "mlp": (57, 58, 1397, 552),
        "seq": (1715, 1715, 1080, 312),
        "gates": (22, 22, 27, 27),
    },
    "NAS-Bench-201": {"mlp": (7, 7, 1538, 224), "gates": (1, 1, 1, 1)},
}
NAK_COLUMNS = ("ranking N@5", "ranking N@10", "regression N@5", "regression N@10")
#: table kind -> what the report and the citation call it
TITLES = {"encoders": "the encoder table", "losses": "the loss table", "nak": "the N@K tables"}


#: the two Kendall-tau tables, by `kind`: (config -> (paper row, tau per proportion))
TAU_TABLES: dict[str, Mapping[Any, tuple[str, tuple[float, ...]]]] = {
    "encoders": ENCODERS,
    "losses": LOSSES,
}
QUICK_ENCODERS = ("gates", "mlp")
QUICK_LOSSES = (("gates", "hinge"), ("gates", "mse"))


def _tau_published(kind: str, space: str) -> tuple[Published, ...]:
    """The paper's numbers of the encoder or the loss table (`kind`), as `space`'s."""
    return tuple(
        Published(f"{space}: {kind} (Kendall tau)", row, label, value)
        for row, values in TAU_TABLES[kind].values()
        for label, value in zip(PROP_LABELS, values, strict=True)
    )


def _tau_configs(ctx: Context, kind: str) -> list[tuple[str, str, str]]:
    """(paper row, encoder, loss) per row of the encoder or the loss table that this mode
    runs; the encoder table trains every encoder with the hinge loss. One list for both
    tables, so they are measured, cached and reported by the same loop."""
    if kind == "encoders":
        return [
            (row, encoder, "hinge")
            for encoder, (row, _) in ENCODERS.items()
            if not ctx.quick or encoder in QUICK_ENCODERS
        ]
    return [
        (row, encoder, loss)
        for (encoder, loss), (row, _) in LOSSES.items()
        if not ctx.quick or (encoder, loss) in QUICK_LOSSES
    ]


def _nak_published() -> tuple[Published, ...]:
    return tuple(
        Published(f"{space}: N@K", ENCODERS[enc][0], column, value)
        for space, rows in NAK.items()
        for enc, values in rows.items()
        for column, value in zip(NAK_COLUMNS, values, strict=True)
    )


@dataclass
class Setting:
    space: str  # paper's name
    data: Any  # selfnas.predictors.data.Labelled
    describe: str


def _settings(ctx: Context) -> tuple[list[Setting], list[str]]:
    from selfnas.predictors.data import load_labelled

    settings, notes = [], []
    nb201 = data_file("nb201-200ep-cifar10")
    if nb201 is not None:
        data = load_labelled("nb201", "nb201", str(nb201), None, "cifar10_test")
        settings.append(Setting("NAS-Bench-201", data, "NB201 CIFAR-10 200-epoch test acc."))
    else:
        notes.append("NAS-Bench-201 table nb201/nb201_200ep_cifar10.csv absent: NB201 skipped.")
    nb101 = nb101_official()
    if nb101 is not None and not ctx.quick:
        data = load_labelled("nb101", "nb101", str(nb101), None, None)
        settings.append(Setting("NAS-Bench-101", data, f"NB101 ({nb101.name})"))
    else:
        notes.append(
            "NAS-Bench-101: "
            + (
                "skipped in quick mode."
                if nb101 is not None
                else "the full file (nb101/nasbench_only108.tfrecord) is absent, "
                "so only NAS-Bench-201 is measured; the paper's NB101 numbers "
                "are shown beside ours at the same proportion."
            )
        )
    if not settings:
        from selfnas.benchmarks import sources

        sources.require_source("nb201")
    return settings, notes


def _sizes(ctx: Context, data: Any) -> list[tuple[str, int]]:
    """(column label, training archs) per proportion of the training pool that this mode
    runs (>= `MIN_TRAIN` archs)."""
    pool = len(data.split()[0])
    chosen = ("1%",) if ctx.quick else FULL_LABELS
    return [
        (label, size) for label, size in _all_sizes(pool) if label in chosen and size >= MIN_TRAIN
    ]


def _all_sizes(pool: int) -> list[tuple[str, int]]:
    return [
        (label, min(pool, round(share * pool)))
        for label, share in zip(PROP_LABELS, PROPORTIONS, strict=True)
    ]


def _measure(ctx: Context, spec: Any, data: Any, cache: dict) -> dict[str, Any]:
    """Held-out metrics over seeds: mean and std of Kendall tau, N@5, N@10, and the mean
    seconds one seed took.

    Each seed is one cell, cached on disk as `OUT/cells/<spec_key>.json` (the digest of the
    one-seed `PredictSpec`, as `predict-grid --resume` keys its rows): a rerun with the same
    `--out` skips every finished seed, and tables sharing a configuration reuse it."""
    from selfnas.predictors import experiment
    from selfnas.predictors.grid import spec_key

    key = spec_key(spec)
    if key not in cache:
        per = []
        for seed in range(spec.first_seed, spec.first_seed + spec.seeds):
            one = replace(spec, seeds=1, first_seed=seed)
            path = ctx.path(CELLS, f"{spec_key(one)}.json")
            if path.is_file():
                row = json.loads(path.read_text())["row"]
            else:
                row = experiment.run_seed(one, data, seed, ctx.device)
                write_json(path, {"spec": one.to_dict(), "row": row})
            per.append(row)
        out = {}
        for metric in ("kendall_tau", "n_at_5", "n_at_10"):
            out[metric], out[f"{metric}_std"], _ = mean_std(row["heldout"][metric] for row in per)
        seconds = [row["train_seconds"] + row["score_seconds"] for row in per]
        out["seconds"], out["total_seconds"] = float(np.mean(seconds)), float(np.sum(seconds))
        cache[key] = out
    return cache[key]


def _spec(ctx: Context, encoder: str, loss: str, size: int) -> Any:
    from selfnas.predictors.experiment import PredictSpec

    return PredictSpec(
        encoder=encoder,
        loss=loss,
        train_size=size,
        seeds=ctx.n_seeds(1, FULL_SEEDS),
        epochs=ctx.pick(*EPOCHS),
    )


def _protocol(ctx: Context, setting: Setting, size: int) -> str:
    parts = [f"{size} training archs; Kendall tau / N@K on the fixed held-out 10 %"]
    if setting.space != "NAS-Bench-101":
        parts.append("paper number is NAS-Bench-101's at the same proportion")
    parts.append(f"{ctx.pick(*EPOCHS)} epochs")
    return "; ".join(parts)


def _run_table(ctx: Context, kind: str) -> Report:
    settings, notes = _settings(ctx)
    cache: dict = {}
    rows: list[Row] = []
    published: list[Published] = []
    unrun: dict[tuple[str, str], str] = {}  # (column, space) -> why full mode has no number
    largest: dict[str, tuple[int, float]] = {}  # row -> (archs, seconds per seed)
    for setting in settings:
        sizes = _sizes(ctx, setting.data)
        how: dict[str, Any] = {"data": setting.describe, "seeds": ctx.n_seeds(1, FULL_SEEDS)}
        pool = len(setting.data.split()[0])
        shown = {label for label, _ in sizes} if ctx.quick else set(PROP_LABELS)
        for label, size in _all_sizes(pool):
            if label not in FULL_LABELS:
                unrun[(label, setting.space)] = (
                    f"{size} training archs: not run in full mode on CPU (time: see the notes)"
                )
            elif size < MIN_TRAIN:
                unrun[(label, setting.space)] = (
                    f"not run: {size} training archs at this proportion of the "
                    f"{pool}-arch pool (fewer than {MIN_TRAIN})"
                )
        if kind in TAU_TABLES:
            table = f"{setting.space}: {kind} (Kendall tau)"
            published += [
                Published(table, p.row, p.column, p.value)
                for p in _tau_published(kind, "NAS-Bench-101")
                if p.column in shown
            ]
            suffix = "; hinge loss" if kind == "encoders" else ""
            for row, encoder, loss in _tau_configs(ctx, kind):
                for label, size in sizes:
                    m = _measure(ctx, _spec(ctx, encoder, loss, size), setting.data, cache)
                    largest[row] = (size, m["seconds"])
                    rows.append(
                        Row(
                            table,
                            row,
                            label,
                            m["kendall_tau"],
                            m["kendall_tau_std"],
                            budget=f"{size} archs",
                            protocol=_protocol(ctx, setting, size) + suffix,
                            **how,
                        )
                    )
        else:
            table = f"{setting.space}: N@K"
            published += [p for p in _nak_published() if p.table == table]
            label, size = (
                sizes[-1] if ctx.quick else ([s for s in sizes if s[0] == "10%"] or sizes[-1:])[0]
            )
            for row, encoder, _ in _tau_configs(ctx, "encoders"):
                for loss, prefix in (("hinge", "ranking"), ("mse", "regression")):
                    m = _measure(ctx, _spec(ctx, encoder, loss, size), setting.data, cache)
                    for k in ("5", "10"):
                        rows.append(
                            Row(
                                table,
                                row,
                                f"{prefix} N@{k}",
                                m[f"n_at_{k}"],
                                m[f"n_at_{k}_std"],
                                budget=f"{size} archs ({label})",
                                protocol=f"N@K = best true rank among the top-K predicted of the "
                                f"held-out 10 %; paper's train size not stated in the "
                                f"slides; {ctx.pick(*EPOCHS)} epochs",
                                **how,
                            )
                        )
    title = TITLES[kind]
    report = Report(f"gates-{kind}", f"GATES: {title}", CITATION.format(table=title))
    rows = attach_paper(rows, published)
    # the paper's columns in its order, unmeasured ones (0.05 %, 50 %, 100 %) in place
    first: dict[tuple[str, str], int] = {}
    for i, line in enumerate(rows):
        first.setdefault((line.table, line.row), i)
    rows.sort(
        key=lambda r: (
            first[(r.table, r.row)],
            PROP_LABELS.index(r.column) if r.column in PROP_LABELS else 0,
        )
    )
    for line in rows:
        if line.ours is None and ctx.quick:
            line.protocol = "not measured here (quick mode)"
        elif line.ours is None:
            space = line.table.split(":")[0]
            line.protocol = unrun.get((line.column, space), line.protocol)
    report.rows = rows
    report.notes = [
        *notes,
        "Each cell: `selfnas predict --encoder E --loss L --train-size N` (the same "
        "`selfnas.predictors.experiment.run_seed`), mean ± std over seeds.",
        f"Every finished seed is kept as `{CELLS}/<spec_key>.json` (the digest of its "
        "one-seed `PredictSpec`, as `predict-grid --resume` keys its rows): rerunning with "
        "the same `--out` resumes, skipping finished seeds.",
    ]
    if not ctx.quick:
        report.notes.append(_scope_note(ctx, kind, settings, largest))
    total = sum(m["total_seconds"] for m in cache.values())
    report.notes.append(
        f"Training and scoring time summed over the {len(cache)} configurations x "
        f"{ctx.n_seeds(1, FULL_SEEDS)} seeds of this report: {total:.0f} s "
        f"({total / 3600:.2f} h), whether trained by this invocation or read back from "
        f"`{CELLS}/` (a seed trained for another GATES table with the same `PredictSpec` "
        "can be copied there and is reused)."
    )
    return report


def _scope_note(
    ctx: Context, kind: str, settings: list[Setting], largest: dict[str, tuple[int, float]]
) -> str:
    """What full mode runs, and what the columns it leaves out would cost (extrapolated
    linearly in training archs from the largest cells measured here)."""
    seeds = ctx.n_seeds(1, FULL_SEEDS)
    pool = len(settings[0].data.split()[0]) if settings else 0
    if kind == "nak":
        return (
            f"Full mode on CPU: {seeds} seeds x {EPOCHS[1]} epochs per cell (the paper does "
            f"not state its seeds); N@K is measured at 10 % of the {pool}-arch training pool "
            f"({dict(_all_sizes(pool))['10%']} archs)."
        )
    run = [label for label, size in _all_sizes(pool) if label in FULL_LABELS]
    small = [label for label, size in _all_sizes(pool) if label in FULL_LABELS and size < MIN_TRAIN]
    scope = (
        f"Full mode on CPU: {seeds} seeds x {EPOCHS[1]} epochs per cell (the paper does "
        f"not state its seeds), columns {', '.join(run)} of the {pool}-arch training pool"
    )
    if small:
        scope += f" ({', '.join(small)} is under {MIN_TRAIN} archs here, so it stays empty)"
    scope += "; the 50 % and 100 % columns keep the paper's numbers only."
    if not largest or not settings:
        return scope
    half = dict(_all_sizes(pool))["50%"]
    cost = {row: seconds * half / archs * seeds for row, (archs, seconds) in largest.items()}
    low, high = min(cost, key=cost.__getitem__), max(cost, key=cost.__getitem__)
    archs, seconds = largest[high]
    return (
        f"{scope} One 50 % cell ({half} archs, {seeds} seeds) would take about "
        f"{_duration(cost[low])} ({low}) to {_duration(cost[high])} ({high}) on this CPU, a 100 % "
        f"cell twice that (time grows about linearly with the training archs; measured "
        f"here at {archs} archs: {seconds:.0f} s per seed for {high})."
    )


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _reproduction(kind: str, full_cost: str) -> Reproduction:
    """The registered GATES table `kind`, under the name, title and citation its report
    (`_run_table`) carries."""
    title = TITLES[kind]

    def run(ctx: Context) -> Report:
        return _run_table(ctx, kind)

    return Reproduction(
        f"gates-{kind}",
        f"GATES: {title}",
        CITATION.format(table=title),
        _tau_published(kind, "NAS-Bench-101") if kind in TAU_TABLES else _nak_published(),
        run,
        full_cost=full_cost,
    )


REPRODUCTIONS = (
    _reproduction(
        "encoders",
        "about 21 min of training on one thread of 2 shared CPU cores; 10 min wall after "
        "gates-nak, whose 10 % seeds it reuses (docs/results/reproduce_gates-encoders/)",
    ),
    _reproduction(
        "losses",
        "about 36 min of training on one thread of 2 shared CPU cores; 27 min wall after "
        "gates-nak and gates-encoders, whose seeds it reuses "
        "(docs/results/reproduce_gates-losses/)",
    ),
    _reproduction(
        "nak",
        "about 22 min on one thread of 2 shared CPU cores (docs/results/reproduce_gates-nak/)",
    ),
)
