"""The three GATES tables (Ning et al. 2020, slides "Results on NAS-Bench-101/201"):
encoders x train proportions and losses x train proportions (Kendall tau), and N@5 / N@10
of each encoder under a ranking and a regression loss.

The slides give the encoder and loss tables for NAS-Bench-101 only (proportions of its
381,262-arch training pool) and N@K for both spaces. We run NAS-Bench-201 (CIFAR-10,
200-epoch test accuracy) everywhere, and NAS-Bench-101 where its full file is present; an
NB201 row is shown beside the paper's NB101 number at the same proportion, marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from selfnas.reproduce.base import Context, Published, Report, Reproduction, Row, attach_paper
from selfnas.reproduce.common import data_file, nb101_official

CITATION = (
    "Ning et al., *A Generic Graph-based Neural Architecture Encoding Scheme for "
    "Predictor-based NAS* (GATES), {table} (`/work/shared/papers/004_*.txt`)"
)
PROPORTIONS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)
PROP_LABELS = ("0.05%", "0.1%", "0.5%", "1%", "5%", "10%", "50%", "100%")

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


def _encoder_published(space: str) -> tuple[Published, ...]:
    return tuple(
        Published(f"{space}: encoders (Kendall tau)", row, label, value)
        for row, values in ENCODERS.values()
        for label, value in zip(PROP_LABELS, values, strict=True)
    )


def _loss_published(space: str) -> tuple[Published, ...]:
    return tuple(
        Published(f"{space}: losses (Kendall tau)", row, label, value)
        for row, values in LOSSES.values()
        for label, value in zip(PROP_LABELS, values, strict=True)
    )


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
    """(column label, training archs) per proportion of the training pool (>= 8 archs)."""
    pool = len(data.split()[0])
    chosen = ("1%",) if ctx.quick else PROP_LABELS
    out = []
    for label, share in zip(PROP_LABELS, PROPORTIONS, strict=True):
        size = min(pool, round(share * pool))
        if label in chosen and size >= 8:
            out.append((label, size))
    return out


def _measure(spec: Any, data: Any, device: str, cache: dict) -> dict[str, Any]:
    """Held-out metrics over seeds: mean and std of Kendall tau, N@5, N@10."""
    from selfnas.predictors.experiment import run

    key = repr(spec)  # PredictSpec holds a dict, so it is not hashable
    if key not in cache:
        result = run(spec, data, device)
        per = result["per_seed"]
        out = {}
        for metric in ("kendall_tau", "n_at_5", "n_at_10"):
            values = np.array([row["heldout"][metric] for row in per], dtype=np.float64)
            out[metric], out[f"{metric}_std"] = float(values.mean()), float(values.std())
        cache[key] = out
    return cache[key]


def _spec(ctx: Context, encoder: str, loss: str, size: int) -> Any:
    from selfnas.predictors.experiment import PredictSpec

    return PredictSpec(
        encoder=encoder,
        loss=loss,
        train_size=size,
        seeds=ctx.n_seeds(1, 5),
        epochs=ctx.pick(15, 200),
    )


def _protocol(ctx: Context, setting: Setting, size: int) -> str:
    parts = [f"{size} training archs; Kendall tau / N@K on the fixed held-out 10 %"]
    if setting.space != "NAS-Bench-101":
        parts.append("paper number is NAS-Bench-101's at the same proportion")
    parts.append(f"{ctx.pick(15, 200)} epochs")
    return "; ".join(parts)


def _run_table(ctx: Context, kind: str) -> Report:
    settings, notes = _settings(ctx)
    quick_encoders = ("gates", "mlp")
    quick_losses = (("gates", "hinge"), ("gates", "mse"))
    cache: dict = {}
    rows: list[Row] = []
    published: list[Published] = []
    for setting in settings:
        sizes = _sizes(ctx, setting.data)
        how = {"data": setting.describe, "seeds": ctx.n_seeds(1, 5)}
        if kind == "encoders":
            table = f"{setting.space}: encoders (Kendall tau)"
            published += [
                Published(table, p.row, p.column, p.value)
                for p in _encoder_published("NAS-Bench-101")
                if p.column in {label for label, _ in sizes}
            ]
            for encoder, (row, _) in ENCODERS.items():
                if ctx.quick and encoder not in quick_encoders:
                    continue
                for label, size in sizes:
                    m = _measure(
                        _spec(ctx, encoder, "hinge", size), setting.data, ctx.device, cache
                    )
                    rows.append(
                        Row(
                            table,
                            row,
                            label,
                            m["kendall_tau"],
                            m["kendall_tau_std"],
                            budget=f"{size} archs",
                            protocol=_protocol(ctx, setting, size) + "; hinge loss",
                            **how,
                        )
                    )
        elif kind == "losses":
            table = f"{setting.space}: losses (Kendall tau)"
            published += [
                Published(table, p.row, p.column, p.value)
                for p in _loss_published("NAS-Bench-101")
                if p.column in {label for label, _ in sizes}
            ]
            for (encoder, loss), (row, _) in LOSSES.items():
                if ctx.quick and (encoder, loss) not in quick_losses:
                    continue
                for label, size in sizes:
                    m = _measure(_spec(ctx, encoder, loss, size), setting.data, ctx.device, cache)
                    rows.append(
                        Row(
                            table,
                            row,
                            label,
                            m["kendall_tau"],
                            m["kendall_tau_std"],
                            budget=f"{size} archs",
                            protocol=_protocol(ctx, setting, size),
                            **how,
                        )
                    )
        else:
            table = f"{setting.space}: N@K"
            published += [p for p in _nak_published() if p.table == table]
            label, size = (
                sizes[-1] if ctx.quick else ([s for s in sizes if s[0] == "10%"] or sizes[-1:])[0]
            )
            for encoder, (row, _) in ENCODERS.items():
                if ctx.quick and encoder not in quick_encoders:
                    continue
                for loss, prefix in (("hinge", "ranking"), ("mse", "regression")):
                    m = _measure(_spec(ctx, encoder, loss, size), setting.data, ctx.device, cache)
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
                                f"slides; {ctx.pick(15, 200)} epochs",
                                **how,
                            )
                        )
    title = {"encoders": "the encoder table", "losses": "the loss table", "nak": "the N@K tables"}[
        kind
    ]
    report = Report(f"gates-{kind}", f"GATES: {title}", CITATION.format(table=title))
    rows = attach_paper(rows, published)
    for row in rows:
        if row.ours is None and ctx.quick:
            row.protocol = "not measured here (quick mode)"
    report.rows = rows
    report.notes = [
        *notes,
        "Each cell: `selfnas predict --encoder E --loss L --train-size N` (the same "
        "`selfnas.predictors.experiment.run`), mean ± std over seeds.",
    ]
    return report


def _runner(kind: str):
    def run(ctx: Context) -> Report:
        return _run_table(ctx, kind)

    return run


REPRODUCTIONS = (
    Reproduction(
        "gates-encoders",
        "GATES: the encoder table",
        CITATION.format(table="the encoder table"),
        _encoder_published("NAS-Bench-101"),
        _runner("encoders"),
    ),
    Reproduction(
        "gates-losses",
        "GATES: the loss table",
        CITATION.format(table="the loss table"),
        _loss_published("NAS-Bench-101"),
        _runner("losses"),
    ),
    Reproduction(
        "gates-nak",
        "GATES: the N@K tables",
        CITATION.format(table="the N@K tables"),
        _nak_published(),
        _runner("nak"),
    ),
)
