"""Helpers the reproductions share: where the data is, pretraining, searches, rows.

Everything here calls the product's public functions (the same ones the CLI calls), so a
reproduction measures exactly what a user of `selfnas pretrain` / `compare` would get.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.errors import DataNotFound
from selfnas.reproduce.base import Row


# --- data ------------------------------------------------------------------------------
def data_file(name: str) -> Path | None:
    """Path of catalogue file `name` under the data directory, or None when absent."""
    from selfnas.benchmarks import sources

    path = sources.file(name).path()
    return path if path.exists() else None


def nb201_tables(require_12ep: bool = False) -> list[Path]:
    """The NB201 reference tables present (200-epoch CIFAR-10 first, then 12-epoch)."""
    found = [p for p in (data_file("nb201-200ep-cifar10"), data_file("nb201-12ep")) if p]
    if not found or (require_12ep and data_file("nb201-12ep") is None):
        from selfnas.benchmarks import sources

        sources.require_source("nb201")
        raise DataNotFound("nb201: the 12-epoch table nb201/nb201_12ep.csv is needed here")
    return found


def nb101_official() -> Path | None:
    """The full NB101 file (tfrecord or NASLib pickle) when the user has it."""
    return data_file("nb101-tfrecord") or data_file("nb101-naslib-pickle")


# --- pretraining -----------------------------------------------------------------------
@dataclass
class Pretrained:
    run_dir: Path
    final: dict[str, Any]
    objective: Any
    space: Any


def pretrain(
    objective_name: str,
    space_name: str,
    out: Path,
    *,
    epochs: int,
    seed: int = 0,
    subset: int | None = None,
    samples: int | None = None,
    validity_samples: int = 1000,
    options: dict[str, Any] | None = None,
    device: str = "cpu",
) -> Pretrained:
    """`selfnas pretrain OBJECTIVE --space SPACE` as a function (resumes in `out`)."""
    from selfnas.pretrain.metrics import pretraining_protocol
    from selfnas.pretrain.registry import get_objective
    from selfnas.pretrain.trainer import Trainer, space_data
    from selfnas.runtime import seed_everything
    from selfnas.spaces import get_space

    space = get_space(space_name)
    options = dict(options or {})
    if samples is None and (space.size is None or space.size > 10**7):
        samples = 100_000
    config = {
        "objective": objective_name,
        "space": space.name,
        "options": options,
        "samples": samples,
        "subset": subset,
        "validity_samples": validity_samples,
        "eval_every": epochs,
    }
    seed_everything(seed)
    objective = get_objective(objective_name, space, **options)
    data = space_data(space, samples, seed, subset)
    trainer = Trainer(
        objective,
        data,
        out,
        config,
        epochs=epochs,
        seed=seed,
        device=device,
        evaluate=pretraining_protocol(validity_samples),
        eval_every=epochs,
    )
    result = trainer.run()
    return Pretrained(Path(out), dict(result.final), objective, space)


def embed(pre: Pretrained, target: Path, seed: int = 0) -> Path:
    """`selfnas embed`: every arch of the space (its enumeration or sample) to an .npz."""
    import torch

    from selfnas.atomic import save_npz
    from selfnas.pretrain.trainer import space_data, space_hashes

    samples = None if pre.space.size is not None and pre.space.size <= 10**7 else 100_000
    data = space_data(pre.space, samples, seed)
    pre.objective.eval()
    with torch.no_grad():
        parts = [pre.objective.embed(data[i : i + 8192]).cpu() for i in range(0, len(data), 8192)]
    emb = torch.cat(parts).numpy().astype(np.float32)
    hashes = space_hashes(pre.space, data)
    save_npz(target, embeddings=emb, hashes=np.asarray(hashes), space=np.asarray(pre.space.name))
    return target


# --- search ----------------------------------------------------------------------------
def compare(
    spec: Any,
    strategies: dict[str, dict[str, Any]],
    seeds: int,
    budget: int,
    out: Path,
    workers: int | None = None,
    title: str = "",
) -> tuple[Any, dict[str, dict[str, Any]], Path]:
    """`selfnas compare` as a function: (results frame, summary, regret or best PNG)."""
    from selfnas.runs import RunDir
    from selfnas.search.plots import plot_search
    from selfnas.search.runner import Budget, run_tasks
    from selfnas.search.summary import summarise

    frame = run_tasks(
        spec, strategies, range(seeds), Budget(budget), out, workers, describe=title or "search"
    )
    summary = summarise(frame)
    RunDir(out).write_summary(summary)
    png = plot_search(frame, budget, out, title=title)
    return frame, summary, png


def search_rows(
    summary: dict[str, dict[str, Any]],
    table: str,
    labels: dict[str, str],
    columns: dict[str, tuple[str, str]],
    **how: Any,
) -> list[Row]:
    """Rows from a search summary: `labels` maps strategy -> the paper's row name and
    `columns` maps the paper's column -> (summary mean key, summary std key)."""
    rows = []
    for strategy, label in labels.items():
        if strategy not in summary:
            continue
        s = summary[strategy]
        for column, (mean_key, std_key) in columns.items():
            rows.append(Row(table, label, column, s.get(mean_key), s.get(std_key), **how))
    return rows


def rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
