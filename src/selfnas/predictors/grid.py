"""The GATES-style sample-efficiency tables: encoders x train sizes and losses x train sizes.

Each cell is one `PredictSpec` run over seeds. The tables are written as markdown (for the
docs) and as a long CSV (one row per configuration, every metric's mean and std), so a
table can be rebuilt or re-plotted without re-running. Each CSV row carries `spec_key`, a
digest of its full configuration, so a rerun can reuse the finished rows of an earlier CSV
(`reusable`) and run only the missing cells.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd

from selfnas.atomic import write_text
from selfnas.errors import InvalidOption
from selfnas.predictors.data import Labelled
from selfnas.predictors.experiment import PredictSpec, collect, run, run_seed
from selfnas.stats import format_mean_std

#: CSV columns (one row per configuration)
COLUMNS = (
    "table",
    "row",
    "encoder",
    "loss",
    "init",
    "train_size",
    "train_share",
    "seeds",
    "kendall_tau",
    "kendall_tau_std",
    "spearman",
    "n_at_5",
    "n_at_10",
    "precision_at_10",
    "heldout_kendall_tau",
    "seconds_per_run",
    "spec_key",
)


def parse_encoder(entry: str) -> tuple[str, dict[str, Any]]:
    """`name` or `name:key=value;key=value` (e.g. `gates:form=node`) -> (name, options)."""
    name, _, rest = entry.partition(":")
    opts: dict[str, Any] = {}
    for pair in filter(None, rest.split(";")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidOption(f"encoder option {pair!r} in {entry!r} is not KEY=VALUE")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            opts[key] = value
    return name, opts


def grid_specs(
    base: PredictSpec,
    encoders: Sequence[str],
    losses: Sequence[str],
    sizes: Sequence[int],
    ranking_loss: str = "hinge",
    losses_encoder: str = "gates",
    pretrained: dict[str, str] | None = None,
) -> list[tuple[str, str, PredictSpec]]:
    """(table, row label, spec) for every cell: table `encoders` (each encoder with the
    ranking loss, plus each `encoder=DIR` pretrained initialisation) and table `losses`
    (`losses_encoder` with each loss)."""
    cells: list[tuple[str, str, PredictSpec]] = []
    for size in sizes:
        for entry in encoders:
            encoder, opts = parse_encoder(entry)
            spec = replace(
                base,
                encoder=encoder,
                loss=ranking_loss,
                train_size=size,
                encoder_opts={**base.encoder_opts, **opts},
            )
            cells.append(("encoders", entry, spec))
        for label, directory in (pretrained or {}).items():
            encoder, opts = parse_encoder(label.split("+")[0])
            spec = replace(
                base,
                encoder=encoder,
                loss=ranking_loss,
                train_size=size,
                pretrained=directory,
                encoder_opts={**base.encoder_opts, **opts},
            )
            cells.append(("encoders", f"{label} (pretrained)", spec))
        for loss in losses:
            spec = replace(base, encoder=losses_encoder, loss=loss, train_size=size)
            cells.append(("losses", loss, spec))
    return cells


#: `PredictSpec` fields added after grids were first saved, with their defaults
ADDED_FIELDS = {"ensemble": 1}


def spec_key(spec: PredictSpec) -> str:
    """Digest of a configuration (every `PredictSpec` field, seeds included): equal keys
    mean the same runs."""
    fields = asdict(spec)
    for name, default in ADDED_FIELDS.items():
        if fields[name] == default:
            del fields[name]  # so configurations saved before the field keep their key
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def reusable(
    previous: pd.DataFrame, cells: Sequence[tuple[str, str, PredictSpec]]
) -> dict[str, dict[str, Any]]:
    """Finished rows of an earlier grid CSV that the given cells can reuse, by `spec_key`
    (rows without a key are never reused: their configuration is unknown)."""
    if previous.empty or "spec_key" not in previous:
        return {}
    keyed = {
        row["spec_key"]: row
        for row in previous.to_dict(orient="records")
        if isinstance(row["spec_key"], str) and row["spec_key"]
    }
    wanted = {spec_key(spec) for _, _, spec in cells}
    return {key: row for key, row in keyed.items() if key in wanted}


def _cell_row(
    table: str, label: str, spec: PredictSpec, result: dict[str, Any], total: int
) -> dict[str, Any]:
    return {
        "table": table,
        "row": label,
        "encoder": spec.encoder,
        "loss": spec.loss,
        "init": "random" if spec.pretrained is None else spec.pretrained,
        "train_size": spec.train_size,
        "train_share": spec.train_size / total,
        "seeds": spec.seeds,
        **{k: result[k] for k in COLUMNS if k in result},
        "heldout_kendall_tau": result["heldout"]["kendall_tau"],
        "spec_key": spec_key(spec),
    }


def _reused_row(
    table: str, label: str, spec: PredictSpec, row: dict[str, Any], total: int
) -> dict[str, Any]:
    out = {k: row.get(k) for k in COLUMNS}
    out.update(table=table, row=label, train_share=spec.train_size / total)
    out["spec_key"] = spec_key(spec)
    return out


# worker-process state: the labelled data, sent once per worker (not once per task)
_WORKER: dict[str, Any] = {}


def _init_worker(data: Labelled, threads: int) -> None:
    from selfnas.runtime import configure_threads

    configure_threads(threads)
    _WORKER["data"] = data


def _run_one(spec: PredictSpec, seed: int, device: str) -> dict[str, Any]:
    return run_seed(spec, _WORKER["data"], seed, device)


def _results(
    data: Labelled, specs: dict[str, PredictSpec], device: str, workers: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, result) per distinct spec as each finishes; with `workers > 1` every
    (spec, seed) is one task of a process pool (spawned: safe with CUDA)."""
    if workers <= 1:
        for key, spec in specs.items():
            yield key, run(spec, data, device)
        return
    fresh = Labelled(data.space, data.archs, data.targets, data.source)  # no cached tensors
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, _init_worker, (fresh, 1)) as pool:
        futures = {
            pool.submit(_run_one, spec, seed, device): key
            for key, spec in specs.items()
            for seed in range(spec.first_seed, spec.first_seed + spec.seeds)
        }
        rows: dict[str, list[dict[str, Any]]] = {key: [] for key in specs}
        for future in as_completed(futures):
            key = futures[future]
            rows[key].append(future.result())
            spec = specs[key]
            if len(rows[key]) == spec.seeds:
                yield key, collect(spec, data, sorted(rows[key], key=lambda r: r["seed"]))


def run_grid(
    data: Labelled,
    cells: Sequence[tuple[str, str, PredictSpec]],
    device: str = "cpu",
    on_cell: Callable[[dict[str, Any], pd.DataFrame], None] | None = None,
    workers: int = 1,
    reuse: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Run every cell (identical specs run once) and collect one row per cell, in cell
    order; `on_cell(row, rows_so_far)` after each finished cell (the CLI rewrites the
    tables each time, so an interrupted grid still leaves every finished cell on disk).
    `workers > 1` runs seeds in parallel processes, one torch thread each. `reuse`
    (`spec_key` -> earlier row, see `reusable`) fills those cells without running them."""
    keys = [spec_key(spec) for _, _, spec in cells]
    reuse = reuse or {}
    finished: dict[int, dict[str, Any]] = {}
    for index, (table, label, spec) in enumerate(cells):
        if keys[index] in reuse:
            finished[index] = _reused_row(table, label, spec, reuse[keys[index]], len(data))
    specs = {key: spec for key, (_, _, spec) in zip(keys, cells, strict=True) if key not in reuse}
    for key, result in _results(data, specs, device, workers):
        for index, (table, label, spec) in enumerate(cells):
            if keys[index] != key:
                continue
            finished[index] = _cell_row(table, label, spec, result, len(data))
            if on_cell is not None:
                so_far = [finished[i] for i in sorted(finished)]
                on_cell(finished[index], pd.DataFrame(so_far, columns=list(COLUMNS)))
    return pd.DataFrame([finished[i] for i in sorted(finished)], columns=list(COLUMNS))


def _share(size: int, total: int) -> str:
    return f"{100 * size / total:.2g}% ({size})"


def markdown(frame: pd.DataFrame, total: int, nk_sizes: Sequence[int] | None = None) -> str:
    """Two GATES-layout tables: Kendall tau (mean ± std over seeds) per train size, then
    one `N@5 / N@10` column (means over seeds) per size in `nk_sizes` (default: every
    size)."""
    if frame.empty:
        return ""
    sizes = sorted(frame["train_size"].unique())
    nk = list(nk_sizes) if nk_sizes is not None else sizes
    out = []
    titles = {
        "encoders": "Encoders (ranking loss): Kendall tau on all archs outside the training set",
        "losses": "Losses (GATES encoder): Kendall tau on all archs outside the training set",
    }
    for table in ("encoders", "losses"):
        part = frame[frame["table"] == table]
        if part.empty:
            continue
        header = ["", *[_share(s, total) for s in sizes], *[f"N@5 / N@10 @ {s}" for s in nk]]
        lines = [f"**{titles[table]}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for label in dict.fromkeys(part["row"]):
            rows = part[part["row"] == label]
            cells = [str(label)]
            for size in sizes:
                hit = rows[rows["train_size"] == size]
                if hit.empty:
                    cells.append("-")
                else:
                    r = hit.iloc[0]
                    cells.append(format_mean_std(r.kendall_tau, r.kendall_tau_std, 3))
            for size in nk:
                hit = rows[rows["train_size"] == size]
                if hit.empty:
                    cells.append("-")
                else:
                    cells.append(f"{hit.iloc[0].n_at_5:.1f} / {hit.iloc[0].n_at_10:.1f}")
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def write(frame: pd.DataFrame, prefix: str | Path, total: int, header: str = "") -> list[Path]:
    """`<prefix>.csv` and `<prefix>.md` (atomic)."""
    prefix = Path(prefix)
    csv_path = prefix.with_suffix(".csv")
    md_path = prefix.with_suffix(".md")
    write_text(csv_path, frame.to_csv(index=False, float_format="%.4f"))
    write_text(md_path, header + markdown(frame, total))
    return [csv_path, md_path]
