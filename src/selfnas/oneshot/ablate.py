"""The paper's Table 3 at small scale: SL vs SSL, FPP / BPP / prune-at-end, skip dropout.

Each row searches once, then trains its architecture from random initialisation (the
architecture's quality, as Table 3 reports it: test error) and fine-tunes its concomitant
weights; the relative gain against the row's baseline (same objective without the design
choice) isolates what the choice adds to the weights (Table 4b's measure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfnas.atomic import write_json
from selfnas.errors import InvalidOption
from selfnas.oneshot.config import SearchConfig
from selfnas.oneshot.data import ImageData
from selfnas.oneshot.finetune import FinetuneConfig, finetune, relative_gain
from selfnas.oneshot.search import run_search

# name -> (table, objective, prune, skip dropout, baseline row for the relative gain)
ROWS: dict[str, tuple[str, str, str, float, str | None]] = {
    "SL": ("a", "supervised", "end", 0.2, None),
    "SL+BPP": ("a", "supervised", "bpp", 0.2, "SL"),
    "SL+FPP": ("a", "supervised", "fpp", 0.2, "SL"),
    "SSL": ("a", "simclr", "end", 0.2, None),
    "SSL+BPP": ("a", "simclr", "bpp", 0.2, "SSL"),
    "SSL+FPP": ("a", "simclr", "fpp", 0.2, "SSL"),
    "no drop": ("c", "simclr", "fpp", 0.0, None),
    "0.5 drop": ("c", "simclr", "fpp", 0.5, "no drop"),
    "0.2 drop": ("c", "simclr", "fpp", 0.2, "no drop"),
}


@dataclass(frozen=True)
class AblationConfig:
    search: SearchConfig
    label_fraction: float = 1.0
    finetune_epochs: int = 10
    rows: tuple[str, ...] | None = None


def _slug(name: str) -> str:
    return name.lower().replace("+", "_").replace(" ", "_").replace(".", "")


def run_ablation(
    config: AblationConfig, out_dir: str | Path, data: ImageData | None = None
) -> dict[str, Any]:
    """Run (or resume) every row; rows sharing a search configuration share its run."""
    names = list(config.rows or ROWS)
    unknown = [name for name in names if name not in ROWS]
    if unknown:
        raise InvalidOption(f"unknown ablation rows {unknown}; known: {', '.join(ROWS)}")
    out = Path(out_dir)
    runs: dict[tuple[str, str, float], dict[str, Any]] = {}
    rows = []
    for name in names:
        table, objective, prune, drop, _ = ROWS[name]
        key = (objective, prune, drop)
        if key not in runs:
            search = config.search.with_fields(objective=objective, prune=prune, skip_dropout=drop)
            run_dir = out / f"{objective}_{prune}_drop{drop:g}"
            result = run_search(search, run_dir, data=data)
            accuracy = {}
            for init in ("random", "concomitant"):
                tuned = finetune(
                    run_dir,
                    FinetuneConfig(
                        label_fraction=config.label_fraction,
                        epochs=config.finetune_epochs,
                        init=init,
                        seed=config.search.seed,
                        device=config.search.runtime.device,
                        threads=config.search.runtime.threads,
                    ),
                    data=data,
                )
                accuracy[init] = tuned["test_accuracy"]
            runs[key] = {
                "run_dir": str(run_dir),
                "genotypes": result.genotypes,
                "search_seconds": result.seconds,
                **accuracy,
            }
        run = runs[key]
        rows.append(
            {
                "table": table,
                "name": name,
                "objective": objective,
                "prune": prune,
                "skip_dropout": drop,
                "error_scratch": 1 - run["random"],
                "error_concomitant": 1 - run["concomitant"],
                "run_dir": run["run_dir"],
                "search_seconds": run["search_seconds"],
            }
        )
    by_name = {row["name"]: row for row in rows}
    for row in rows:
        baseline = ROWS[row["name"]][4]
        row["relative_gain"] = None
        if baseline in by_name:
            b = by_name[baseline]
            row["relative_gain"] = relative_gain(
                1 - row["error_concomitant"],
                1 - row["error_scratch"],
                1 - b["error_concomitant"],
                1 - b["error_scratch"],
            )
    report = {
        "rows": rows,
        "label_fraction": config.label_fraction,
        "finetune_epochs": config.finetune_epochs,
        "search": config.search.identity(),
    }
    write_json(out / "ablation.json", report)
    return report
