"""arch2vec's pretraining table (Yan et al. 2020, slides "Pre-training Performance"):
reconstruction accuracy, validity and uniqueness of GAE, VGAE and arch2vec on NAS-Bench-101,
NAS-Bench-201 and the DARTS space, in %.

Ours: `selfnas pretrain {gae,vgae,arch2vec} --space S` with the defaults documented in
docs/arch2vec.md; reconstruction accuracy on the held-out 10 %, validity and uniqueness of
archs decoded from a Gaussian fitted to the training latents (full covariance; the
published code's diagonal fit is reported beside it as `validity_diagonal`).
"""

from __future__ import annotations

from selfnas.reproduce.base import Context, Published, Report, Reproduction, Row, attach_paper
from selfnas.reproduce.common import pretrain

CITATION = (
    "Yan et al., *Does Unsupervised Architecture Representation Learning Help NAS?* "
    "(arch2vec), the pretraining table (`/work/shared/papers/003_*.txt`)"
)
SPACES = {"nb101": "NAS-Bench-101", "nb201": "NAS-Bench-201", "darts": "DARTS"}
METHODS = {"gae": "GAE", "vgae": "VGAE", "arch2vec": "arch2vec"}
COLUMNS = {
    "reconstruction_accuracy": "Accuracy",
    "validity": "Validity",
    "uniqueness": "Uniqueness",
}
_PAPER = {  # method: (nb101 acc, val, uniq, nb201 acc, val, uniq, darts acc, val, uniq)
    "GAE": (98.75, 29.88, 99.25, 99.52, 79.28, 78.42, 97.80, 15.25, 99.65),
    "VGAE": (97.45, 41.18, 99.34, 98.32, 79.30, 88.42, 96.80, 25.25, 99.27),
    "arch2vec": (100, 51.33, 99.36, 100, 79.41, 98.72, 99.79, 33.36, 100),
}
PUBLISHED = tuple(
    Published(table, method, column, values[3 * s + c])
    for method, values in _PAPER.items()
    for s, table in enumerate(SPACES.values())
    for c, column in enumerate(COLUMNS.values())
)


def run(ctx: Context) -> Report:
    from selfnas.pretrain.registry import DEFAULT_EPOCHS

    spaces = ["nb201", "darts"] if ctx.quick else list(SPACES)
    report = Report("arch2vec-pretraining", "arch2vec: pretraining metrics", CITATION)
    rows: list[Row] = []
    validity = ctx.pick(300, 10_000)
    for space in spaces:
        epochs = ctx.pick(2, DEFAULT_EPOCHS.get(space, 10))
        subset = ctx.pick(2000, None)
        samples = ctx.pick(2500, None) if space == "darts" else None
        data = {"darts": f"{samples or 100_000} sampled DARTS cells"}.get(
            space, f"every arch of {SPACES[space]}"
        )
        if subset:
            data += f", trained on a {subset}-arch subset"
        for method, label in METHODS.items():
            pre = pretrain(
                method,
                space,
                ctx.out / "pretrain" / f"{space}_{method}",
                epochs=epochs,
                subset=subset,
                samples=samples,
                validity_samples=validity,
                device=ctx.device,
            )
            for key, column in COLUMNS.items():
                value = pre.final.get(key)
                rows.append(
                    Row(
                        SPACES[space],
                        label,
                        column,
                        None if value is None else 100 * value,
                        data=data,
                        budget=f"{epochs} epoch(s)",
                        seeds=1,
                        protocol=f"validity/uniqueness over {validity} samples decoded from "
                        "the full-covariance Gaussian fit (the diagonal fit's counts: "
                        "metrics.json, `*_diagonal`); "
                        "reconstruction on a held-out 10 %",
                    )
                )
    report.rows = attach_paper(
        rows, [p for p in PUBLISHED if p.table in {SPACES[s] for s in spaces}]
    )
    report.notes = [
        "Paper: one run per cell; ours: seed 0 (add seeds with `selfnas pretrain --seed`).",
        "Run directories (config, checkpoint, per-epoch metrics) are under `pretrain/`.",
    ]
    if ctx.quick:
        report.notes.append(
            "Quick mode: NAS-Bench-101 is skipped (its full enumeration is "
            "the slow part); the full mode covers it."
        )
    return report


REPRODUCTIONS = (
    Reproduction("arch2vec-pretraining", "arch2vec: pretraining metrics", CITATION, PUBLISHED, run),
)
